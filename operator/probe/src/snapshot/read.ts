/**
 * readSnapshotDir: read back what writeSnapshot wrote, for one node (a node directory) or several
 * (a directory holding `<node>/manifest.json` entries). Every error says what to do next.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type {
  CapturedSource,
  NetnsCapture,
  NetnsManifest,
  NodeCapture,
  SnapshotManifest,
  SourceName,
} from "@netmap/core";
import { SNAPSHOT_FORMAT_VERSION, SOURCES } from "@netmap/core";
import { SnapshotError } from "./errors.js";
import { isSafeNetnsDir } from "./paths.js";

const SNAPSHOT_HINT = (dir: string): string =>
  `run \`kubectl netmap snapshot --host-netns <path|name> --node <name> -o ${dir}\` first (as root on the node), or point at the directory that holds <node>/manifest.json`;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function errno(e: unknown): string | undefined {
  return isRecord(e) && typeof e.code === "string" ? e.code : undefined;
}

function invalid(file: string, what: string): SnapshotError {
  return new SnapshotError(
    `${file}: ${what}`,
    "the manifest is damaged or not a netmap manifest: re-capture this node with `kubectl netmap snapshot`",
    file,
  );
}

function checkNetns(file: string, v: unknown): NetnsManifest {
  if (!isRecord(v)) throw invalid(file, "a netns entry is not an object");
  const { netns, dir, path, sources } = v;
  if (
    typeof netns !== "string" ||
    typeof dir !== "string" ||
    typeof path !== "string" ||
    !isRecord(sources)
  ) {
    throw invalid(file, "a netns entry lacks netns/dir/path/sources");
  }
  if (!isSafeNetnsDir(dir)) throw invalid(file, `netns ${netns} has an unsafe directory "${dir}"`);
  for (const [name, rec] of Object.entries(sources)) {
    if (!SOURCES.some((s) => s.name === name)) {
      throw invalid(file, `netns ${netns} lists unknown source "${name}"`);
    }
    if (!isRecord(rec) || (rec.status !== "ok" && rec.status !== "absent")) {
      throw invalid(file, `netns ${netns}, source ${name}: status must be "ok" or "absent"`);
    }
  }
  return v as unknown as NetnsManifest;
}

async function readManifest(file: string): Promise<SnapshotManifest> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw invalid(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(v)) throw invalid(file, "not a JSON object");
  if (v.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotError(
      `${file}: snapshot format version ${JSON.stringify(v.formatVersion)} found; this netmap reads version ${SNAPSHOT_FORMAT_VERSION}`,
      v.formatVersion === undefined
        ? "this is not a netmap snapshot manifest: re-capture the node with `kubectl netmap snapshot`"
        : `re-capture the node with this netmap's \`kubectl netmap snapshot\`, or read it with the netmap version that wrote it (${String(v.netmapVersion ?? "unknown")})`,
      file,
    );
  }
  if (typeof v.node !== "string" || v.node === "") throw invalid(file, "no node name");
  if (!Array.isArray(v.netns)) throw invalid(file, "no netns list");
  for (const n of v.netns) checkNetns(file, n);
  return v as unknown as SnapshotManifest;
}

async function readSource(
  nodeDir: string,
  node: string,
  ns: NetnsManifest,
  name: SourceName,
  rec: CapturedSource,
): Promise<string> {
  const spec = SOURCES.find((s) => s.name === name);
  const rel = `${ns.dir}/${spec?.file ?? name}`;
  const file = join(nodeDir, rel);
  const recapture = `re-capture node ${node} with \`kubectl netmap snapshot --node ${node} …\`; the snapshot is incomplete`;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (errno(e) === "ENOENT") {
      throw new SnapshotError(
        `node ${node}: ${rel} is missing, but the manifest lists ${name} of netns ${ns.netns} as captured`,
        recapture,
        file,
      );
    }
    throw new SnapshotError(
      `node ${node}: cannot read ${rel}: ${(e as Error).message}`,
      "check permissions",
      file,
    );
  }
  const size = Buffer.byteLength(text);
  if (size === 0 && rec.bytes !== 0) {
    throw new SnapshotError(
      `node ${node}: ${rel} is empty, but the manifest lists ${name} of netns ${ns.netns} as captured${rec.bytes ? ` (${rec.bytes} bytes)` : ""}`,
      recapture,
      file,
    );
  }
  if (rec.bytes !== undefined && size !== rec.bytes) {
    throw new SnapshotError(
      `node ${node}: ${rel} has ${size} bytes, the manifest recorded ${rec.bytes}: it was truncated or edited`,
      recapture,
      file,
    );
  }
  return text;
}

/** Reads one node directory (`<dir>/<node>`): its manifest and every source listed as ok. */
export async function readNodeDir(nodeDir: string): Promise<NodeCapture> {
  const manifest = await readManifest(join(nodeDir, "manifest.json"));
  const ordered = [
    ...manifest.netns.filter((n) => n.netns === "host"),
    ...manifest.netns.filter((n) => n.netns !== "host"),
  ];
  const netns: NetnsCapture[] = [];
  for (const ns of ordered) {
    const outputs: NetnsCapture["outputs"] = {};
    for (const [name, rec] of Object.entries(ns.sources) as Array<[SourceName, CapturedSource | undefined]>) {
      if (rec?.status !== "ok") continue;
      outputs[name] = await readSource(nodeDir, manifest.node, ns, name, rec);
    }
    netns.push({ manifest: ns, outputs });
  }
  return { manifest: { ...manifest, netns: ordered }, netns };
}

/**
 * Reads every node snapshot in `dir` (sorted by node name). `dir` may also be a single node's
 * directory. Throws a SnapshotError with a hint when the directory is missing, holds no snapshot,
 * has an unsupported format version, or lacks a file its manifest lists.
 */
export async function readSnapshotDir(dir: string): Promise<NodeCapture[]> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) {
      throw new SnapshotError(`${dir} is not a directory`, SNAPSHOT_HINT("<dir>"), dir);
    }
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`snapshot directory ${dir} does not exist`, SNAPSHOT_HINT(dir), dir);
  }
  const own = await stat(join(dir, "manifest.json")).then(
    () => true,
    () => false,
  );
  if (own) return [await readNodeDir(dir)];

  const nodeDirs: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    const has = await stat(join(dir, e.name, "manifest.json")).then(
      () => true,
      () => false,
    );
    if (has) nodeDirs.push(join(dir, e.name));
  }
  if (nodeDirs.length === 0) {
    throw new SnapshotError(`no node snapshot (*/manifest.json) found in ${dir}`, SNAPSHOT_HINT(dir), dir);
  }
  const nodes: NodeCapture[] = [];
  const byNode = new Map<string, string>();
  for (const d of nodeDirs.sort()) {
    const capture = await readNodeDir(d);
    const prev = byNode.get(capture.manifest.node);
    if (prev !== undefined) {
      throw new SnapshotError(
        `node ${capture.manifest.node} appears twice in ${dir} (${prev} and ${d})`,
        "remove the stale copy: each node has exactly one directory",
        d,
      );
    }
    byNode.set(capture.manifest.node, d);
    nodes.push(capture);
  }
  return nodes.sort((a, b) => a.manifest.node.localeCompare(b.manifest.node));
}

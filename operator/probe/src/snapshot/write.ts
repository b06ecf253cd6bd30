/**
 * writeSnapshot: store one node's capture as `<dir>/<node>/manifest.json` plus one file per
 * captured source and netns (layout in @netmap/core capture/snapshot-format). The node directory
 * is replaced atomically: everything is written to a temporary sibling first, then renamed.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NetnsManifest, NodeCapture, SnapshotManifest } from "@netmap/core";
import { sourceSpec } from "@netmap/core";
import { SnapshotError } from "./errors.js";
import { isSafeNetnsDir, isSafeSegment } from "./paths.js";

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function manifestNode(file: string): Promise<string | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(file, "utf8"));
    if (typeof v === "object" && v !== null && "node" in v && typeof v.node === "string") return v.node;
  } catch {
    // unreadable: treated as "not ours" by the caller
  }
  return undefined;
}

/** Refuses targets that would mix this node's files with something else. */
async function checkTarget(dir: string, node: string, target: string): Promise<void> {
  if (await exists(join(dir, "manifest.json"))) {
    throw new SnapshotError(
      `${dir} is itself one node's snapshot (it has a manifest.json)`,
      "write to its parent directory instead: several nodes share one snapshot directory side by side",
      dir,
    );
  }
  if (!(await exists(target))) return;
  const manifest = join(target, "manifest.json");
  if (await exists(manifest)) {
    const other = await manifestNode(manifest);
    if (other !== node) {
      throw new SnapshotError(
        `${target} holds a snapshot of node "${other ?? "?"}", not "${node}"`,
        "remove that directory or write to another -o directory",
        target,
      );
    }
    return;
  }
  if ((await readdir(target)).length > 0) {
    throw new SnapshotError(
      `${target} exists and is not a netmap node snapshot`,
      "choose another -o directory, or remove that directory if it is yours",
      target,
    );
  }
}

/**
 * Writes `capture` under `<dir>/<node>` (creating `dir`), replacing an earlier snapshot of the same
 * node. Returns the node directory. Sizes of the written outputs are recorded in the manifest.
 */
export async function writeSnapshot(dir: string, capture: NodeCapture): Promise<string> {
  const node = capture.manifest.node;
  if (!isSafeSegment(node)) {
    throw new SnapshotError(`invalid node name "${node}"`, "use the Kubernetes node name", dir);
  }
  await mkdir(dir, { recursive: true });
  const target = join(dir, node);
  await checkTarget(dir, node, target);

  const suffix = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = join(dir, `.${node}.tmp-${suffix}`);
  try {
    await mkdir(tmp);
    const netns: NetnsManifest[] = [];
    for (const ns of capture.netns) {
      const m = ns.manifest;
      if (!isSafeNetnsDir(m.dir)) {
        throw new SnapshotError(
          `node ${node}: netns ${m.netns} has an unsafe directory "${m.dir}"`,
          'netns directories are "host" or "netns/<name>"',
        );
      }
      await mkdir(join(tmp, m.dir), { recursive: true });
      const sources: NetnsManifest["sources"] = {};
      for (const [name, rec] of Object.entries(m.sources)) {
        if (rec === undefined) continue;
        const source = name as keyof NetnsManifest["sources"];
        if (rec.status !== "ok") {
          sources[source] = rec;
          continue;
        }
        const out = ns.outputs[source];
        if (out === undefined) {
          throw new SnapshotError(
            `node ${node}, netns ${m.netns}: source ${source} is marked ok but has no output`,
            "this is a collector bug: report it with the command that produced the capture",
          );
        }
        await writeFile(join(tmp, m.dir, sourceSpec(source).file), out);
        sources[source] = { ...rec, bytes: Buffer.byteLength(out) };
      }
      netns.push({ ...m, sources });
    }
    const manifest: SnapshotManifest = { ...capture.manifest, netns };
    await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    if (await exists(target)) {
      const old = join(dir, `.${node}.old-${suffix}`);
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return target;
}

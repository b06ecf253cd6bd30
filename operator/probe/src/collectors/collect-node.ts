/**
 * collectNode: read one node's kernel state the way the probe does on a real node: the host netns
 * (PID 1's by default, any netns path for a lab node) and the netns of each pod that hangs off it.
 * Only show/list/save commands are run; kernel state is never changed.
 */
import type { CapturedSource, NetnsCapture, NodeCapture, PodRef, SourceName, SourceSpec } from "@netmap/core";
import { isIptablesNftShape, SNAPSHOT_FORMAT_VERSION, SOURCES, sourceSpec } from "@netmap/core";
import { NETMAP_VERSION } from "../version.js";
import { CollectError, captureNetns, captureSource } from "./capture-netns.js";
import {
  type HostVeth,
  holdsPeerOf,
  type LeftOut,
  type NetnsCandidate,
  netnsIdentity,
  netnsRunDirs,
  podFacingVeths,
  podRole,
  scanNetns,
} from "./discover-pods.js";
import { globalAddresses, parseAddrs, parseLinks, parseNetnsIds, parseRoutes } from "./iproute-json.js";
import { NETNS_RUN_DIR, type NetnsExecOptions, netnsExec, resolveNetnsPath } from "./netns-exec.js";
import { readNftTables } from "./nft-tables.js";

/** Progress of a collection, for a spinner or a structured log line. */
export interface ProgressEvent {
  node: string;
  stage: "tools" | "host" | "discover" | "pod" | "skip" | "done";
  message: string;
  netns?: string;
  /** 1-based position among `total` pod netns candidates. */
  current?: number;
  total?: number;
}

/** A pod the caller already knows (API server, CNI args): attached to the netns holding its IPs. */
export interface KnownPod extends PodRef {
  ips: string[];
}

export interface CollectNodeOptions {
  /** Node name recorded in the manifest (and the snapshot directory name). */
  node: string;
  /** The node's host netns: a path (/proc/1/ns/net, /var/run/netns/<name>) or a /var/run/netns name. */
  hostNetns: string;
  /** Restrict to these sources (discovery still reads ip-link, ip-addr, ip-route and netns-ids). */
  sources?: SourceName[];
  /** Sources left out of the host netns only (a trace reads the host's netfilter on demand). */
  hostSkip?: SourceName[];
  /**
   * Capture only the pod netns holding one of these IPs (a trace reads only what it needs). None of
   * them on this node is a CollectError that lists the pods and veths discovery found.
   */
  podIps?: string[];
  /** Known pods, to label the captured pod netns. */
  pods?: KnownPod[];
  onProgress?: (msg: ProgressEvent) => void;
  /** Bounds for each command. */
  exec?: NetnsExecOptions;
  /** How many pod netns are read at the same time (default 4). */
  concurrency?: number;
}

const TOOL_VERSION_ARGV: Record<string, readonly string[]> = {
  ip: ["ip", "-V"],
  iptables: ["iptables", "-V"],
  nft: ["nft", "-v"],
};

const DISCOVERY_HOST: readonly SourceName[] = ["ip-link", "ip-addr", "ip-route", "netns-ids"];
const DISCOVERY_POD: readonly SourceName[] = ["ip-link", "ip-addr", "ip-route"];

function specsFor(kind: "host" | "pod", only: readonly SourceName[] | undefined): SourceSpec[] {
  const must = kind === "host" ? DISCOVERY_HOST : DISCOVERY_POD;
  return SOURCES.filter(
    (s) =>
      (kind === "host" || s.scope === "all") &&
      (only === undefined || only.includes(s.name) || must.includes(s.name)),
  );
}

async function toolVersions(hostPath: string, exec?: NetnsExecOptions): Promise<Record<string, string>> {
  const tools: Record<string, string> = {};
  for (const [tool, argv] of Object.entries(TOOL_VERSION_ARGV)) {
    const r = await netnsExec(hostPath, argv, exec);
    const text = (r.stdout.trim() || r.stderr.trim()).split("\n")[0] ?? "";
    tools[tool] = r.toolMissing ? "absent" : r.exitCode === 0 ? text : `error (exit ${r.exitCode}): ${text}`;
  }
  return tools;
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the input order in the result. */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * The nft-ruleset source: every nft table except iptables-nft's (isIptablesNftShape), listed table
 * by table (nft-tables.ts) and recorded with the exact commands that ran.
 */
async function captureNftRuleset(
  hostPath: string,
  exec?: NetnsExecOptions,
): Promise<{ record: CapturedSource; stdout?: string }> {
  const argv = [...sourceSpec("nft-ruleset").argv];
  const read = await readNftTables(hostPath, (t) => !isIptablesNftShape(t), exec);
  if (read.status === "absent") {
    const { exitCode, stderr, commands } = read;
    return { record: { argv, commands, status: "absent", exitCode, stderr: stderr.slice(0, 4000) } };
  }
  const record: CapturedSource = {
    argv,
    commands: read.commands,
    status: "ok",
    exitCode: 0,
    bytes: Buffer.byteLength(read.json),
  };
  return { record, stdout: read.json };
}

function requireOutput(c: NetnsCapture, name: SourceName): string {
  const out = c.outputs[name];
  if (out === undefined) throw new Error(`internal: source ${name} of ${c.manifest.netns} was not captured`);
  return out;
}

/**
 * Captures one node: host netns sources (scope "all" and "host"), tool versions, then each pod
 * netns whose veth peer is on this node (scope "all" sources and its global addresses).
 * Throws a CollectError naming node, netns and command when a required source fails.
 */
export async function collectNode(opts: CollectNodeOptions): Promise<NodeCapture> {
  const { node } = opts;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(node)) {
    throw new CollectError(
      `invalid node name "${node}"`,
      "use the Kubernetes node name (letters, digits, . _ -)",
    );
  }
  const progress = (e: Omit<ProgressEvent, "node">): void => opts.onProgress?.({ node, ...e });
  const hostPath = resolveNetnsPath(opts.hostNetns);
  const hostKey = await netnsIdentity(hostPath);
  if (hostKey === undefined) {
    throw new CollectError(
      `node ${node}: host netns ${hostPath} does not exist`,
      "give --host-netns as /proc/1/ns/net, /var/run/netns/<name> or a name listed by `ip netns list`",
    );
  }

  progress({ stage: "tools", message: "reading tool versions" });
  const tools = await toolVersions(hostPath, opts.exec);

  progress({ stage: "host", netns: "host", message: `capturing host netns ${hostPath}` });
  const hostSpecs = specsFor("host", opts.sources).filter((s) => !opts.hostSkip?.includes(s.name));
  const nft = hostSpecs.some((s) => s.name === "nft-ruleset")
    ? { "nft-ruleset": await captureNftRuleset(hostPath, opts.exec) }
    : {};
  const host = await captureNetns(
    node,
    { netns: "host", dir: "host", path: hostPath },
    hostSpecs,
    opts.exec,
    nft,
  );

  const { veths, uplinks } = podFacingVeths({
    links: parseLinks(requireOutput(host, "ip-link")),
    addrs: parseAddrs(requireOutput(host, "ip-addr")),
    routes: parseRoutes(requireOutput(host, "ip-route")),
  });
  const nsids = parseNetnsIds(requireOutput(host, "netns-ids"));
  const candidates: Array<NetnsCandidate & { preLink?: Awaited<ReturnType<typeof captureSource>> }> = [];
  const seen = new Set<string>([hostKey]);
  const unresolved: HostVeth[] = [];
  for (const nsid of [...new Set(veths.map((v) => v.nsid))].sort((a, b) => a - b)) {
    const name = nsids.get(nsid);
    const path = name === undefined ? undefined : `${NETNS_RUN_DIR}/${name}`;
    const key = path === undefined ? undefined : await netnsIdentity(path);
    if (name === undefined || path === undefined || key === undefined) {
      unresolved.push(...veths.filter((v) => v.nsid === nsid));
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    candidates.push({ name, path });
  }
  progress({
    stage: "discover",
    message: `${veths.length} pod-facing veth(s), ${candidates.length} named peer netns, ${unresolved.length} veth(s) with an unnamed peer${uplinks.map((u) => `; ${u.name} left out: ${u.why}`).join("")}`,
  });
  if (unresolved.length > 0) {
    // Fallback: netns held only by processes (or mounted where list-id cannot name them).
    for (const c of await scanNetns(seen, netnsRunDirs(hostPath))) {
      const preLink = await captureSource(node, c.name, c.path, sourceSpec("ip-link"), opts.exec);
      if (preLink.stdout !== undefined && holdsPeerOf(parseLinks(preLink.stdout), unresolved)) {
        candidates.push({ ...c, preLink });
      }
    }
  }

  const wanted = opts.podIps === undefined ? undefined : new Set(opts.podIps);
  const podSpecs = specsFor("pod", opts.sources);
  const total = candidates.length;
  const leftOut: LeftOut[] = [...uplinks];
  const otherPods: string[] = [];
  const pods = await pool(candidates, opts.concurrency ?? 4, async (c, i) => {
    const current = i + 1;
    const link = c.preLink ?? (await captureSource(node, c.name, c.path, sourceSpec("ip-link"), opts.exec));
    const route = await captureSource(node, c.name, c.path, sourceSpec("ip-route"), opts.exec);
    const role = podRole(parseLinks(link.stdout ?? "[]"), parseRoutes(route.stdout ?? "[]"), veths);
    if (!role.pod) {
      leftOut.push({ name: `netns ${c.name}`, why: role.why });
      progress({ stage: "skip", netns: c.name, current, total, message: `not a pod: ${role.why}` });
      return undefined;
    }
    const addr = await captureSource(node, c.name, c.path, sourceSpec("ip-addr"), opts.exec);
    const ips = globalAddresses(parseAddrs(addr.stdout ?? "[]"));
    if (wanted !== undefined && !ips.some((ip) => wanted.has(ip))) {
      otherPods.push(`${c.name} (${ips.join(", ") || "no global address"})`);
      progress({
        stage: "skip",
        netns: c.name,
        current,
        total,
        message: "holds none of the requested pod IPs",
      });
      return undefined;
    }
    progress({
      stage: "pod",
      netns: c.name,
      current,
      total,
      message: `capturing ${c.path} (${ips.join(", ")})`,
    });
    const known = opts.pods?.find((p) => p.ips.some((ip) => ips.includes(ip)));
    const base = {
      netns: c.name,
      dir: `netns/${c.name}`,
      path: c.path,
      ips,
      ...(known ? { pod: { namespace: known.namespace, name: known.name } } : {}),
    };
    return captureNetns(node, base, podSpecs, opts.exec, {
      "ip-link": link,
      "ip-addr": addr,
      "ip-route": route,
    });
  });

  const podCaptures = pods
    .filter((p): p is NetnsCapture => p !== undefined)
    .sort((a, b) => a.manifest.netns.localeCompare(b.manifest.netns));
  if (wanted !== undefined && podCaptures.length === 0) {
    throw new CollectError(
      `node ${node}: no pod netns holds ${[...wanted].join(", ")}; found ${otherPods.length} pod netns: ${
        otherPods.sort().join(", ") || "none"
      }${leftOut.map((l) => `; ${l.name} left out: ${l.why}`).join("")}`,
      "give --pod-ip an address of a pod on this node (`kubectl get pod -o wide` shows the node), or leave --pod-ip out to capture every pod netns",
    );
  }
  progress({ stage: "done", message: `captured host + ${podCaptures.length} pod netns` });
  return {
    manifest: {
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      node,
      capturedAt: new Date().toISOString(),
      netmapVersion: NETMAP_VERSION,
      tools,
      netns: [host.manifest, ...podCaptures.map((p) => p.manifest)],
    },
    netns: [host, ...podCaptures],
  };
}

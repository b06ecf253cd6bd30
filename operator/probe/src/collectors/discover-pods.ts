/**
 * Which pod netns hang off a node: the host netns' veths whose peer lives in another netns, but for
 * the node's uplink. The peer netns is named by the host's `ip netns list-id` when it is mounted
 * under /var/run/netns; otherwise it is found by scanning /var/run/netns and /proc/<pid>/ns/net. A
 * candidate only counts when it really holds the other end of one of the host's veths (same
 * ifindex pair), so a netns whose veth peer is on another node is never taken for one of this
 * node's pods, and when it routes out of that end (podRole).
 */
import { readdir, stat } from "node:fs/promises";
import type { RawAddr, RawLink, RawRoute } from "./iproute-json.js";
import { NETNS_RUN_DIR } from "./netns-exec.js";

/** A host-side veth whose peer is in another netns. */
export interface HostVeth {
  ifindex: number;
  ifname: string;
  /** The peer's ifindex inside the peer netns. */
  peerIfindex: number;
  /** The peer netns' id as the host netns numbers it. */
  nsid: number;
  master?: string;
}

/** A netns that may be one of this node's pods. */
export interface NetnsCandidate {
  /** Name used in the snapshot: the /var/run/netns name, or `ns-<inode>` for an unnamed one. */
  name: string;
  path: string;
}

/** What discovery reads of the host netns. */
export interface HostWiring {
  links: readonly RawLink[];
  addrs: readonly RawAddr[];
  routes: readonly RawRoute[];
}

/** A veth (or netns) discovery left out, and why: for the progress log and errors. */
export interface LeftOut {
  name: string;
  why: string;
}

/**
 * Why a host veth is the node's way out rather than a pod's: the default route leaves through it,
 * or it is a tunnel's underlay (the tunnel's lower `dev`, or the device holding its `local`
 * address). Undefined for any other veth. An address on the veth proves nothing: the CNI ptp
 * plugin puts the pod's gateway (a /32, scope global) on every pod's host veth, and a hand-wired
 * sandbox's host veth holds its /24 gateway.
 */
export function uplinkReason(ifname: string, host: HostWiring): string | undefined {
  const def = host.routes.find(
    (r) => r.dst === "default" && r.type === "unicast" && r.table !== "local" && r.devs.includes(ifname),
  );
  if (def) return `the default route leaves through it${def.gateway ? ` (via ${def.gateway})` : ""}`;
  for (const t of host.links) {
    if (t.tunnelDev === ifname) return `it is the underlay of ${t.kind ?? "tunnel"} ${t.ifname}`;
    const local = t.tunnelLocal;
    if (local !== undefined && host.addrs.some((a) => a.ifname === ifname && a.local === local)) {
      return `it holds ${local}, the local address of ${t.kind ?? "tunnel"} ${t.ifname}`;
    }
  }
  return undefined;
}

/** The host veths whose peer is in another netns and that are not the node's uplink. */
export function podFacingVeths(host: HostWiring): { veths: HostVeth[]; uplinks: LeftOut[] } {
  const veths: HostVeth[] = [];
  const uplinks: LeftOut[] = [];
  for (const l of host.links) {
    if (l.kind !== "veth" || l.linkNetnsid === undefined || l.linkIndex === undefined) continue;
    const why = uplinkReason(l.ifname, host);
    if (why !== undefined) {
      uplinks.push({ name: l.ifname, why });
      continue;
    }
    const v: HostVeth = {
      ifindex: l.ifindex,
      ifname: l.ifname,
      peerIfindex: l.linkIndex,
      nsid: l.linkNetnsid,
    };
    if (l.master !== undefined) v.master = l.master;
    veths.push(v);
  }
  return { veths, uplinks };
}

/** The links of `podLinks` that are the other end of one of `veths` (same ifindex pair). */
function heldPeers(podLinks: readonly RawLink[], veths: readonly HostVeth[]): Array<[RawLink, HostVeth]> {
  const out: Array<[RawLink, HostVeth]> = [];
  for (const v of veths) {
    const p = podLinks.find(
      (x) => x.kind === "veth" && x.ifindex === v.peerIfindex && x.linkIndex === v.ifindex,
    );
    if (p) out.push([p, v]);
  }
  return out;
}

/** True when `podLinks` (the candidate's `ip -j link`) holds the peer of one of `veths`. */
export function holdsPeerOf(podLinks: readonly RawLink[], veths: readonly HostVeth[]): boolean {
  return heldPeers(podLinks, veths).length > 0;
}

/**
 * Whether a candidate netns is one of this node's pods: it holds the far end of one of the node's
 * veths, that end is not a bridge port (then the veth leads to a switch: a lab's underlay, the
 * docker bridge a kind node hangs off), and the netns routes something out of it (a pod's default
 * route, its gateway's /32 or its subnet route leaves through its eth0). A bare veth pair into
 * another netns, or a sandbox behind a host veth with a /24 gateway, is a pod by this rule.
 */
export function podRole(
  podLinks: readonly RawLink[],
  podRoutes: readonly RawRoute[],
  veths: readonly HostVeth[],
): { pod: true; via: HostVeth } | { pod: false; why: string } {
  const held = heldPeers(podLinks, veths);
  if (held.length === 0) return { pod: false, why: "it holds the far end of none of this node's veths" };
  let why = "";
  for (const [peer, v] of held) {
    if (peer.master !== undefined) {
      why ||= `its end of ${v.ifname}, ${peer.ifname}, is a port of ${peer.master}: the veth leads to a switch`;
      continue;
    }
    if (!podRoutes.some((r) => r.table !== "local" && r.devs.includes(peer.ifname))) {
      why ||= `nothing in it routes out of ${peer.ifname}, its end of ${v.ifname}`;
      continue;
    }
    return { pod: true, via: v };
  }
  return { pod: false, why };
}

async function inodeKey(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/** Identity (device:inode) of a netns file, to tell two paths to the same netns apart. */
export async function netnsIdentity(path: string): Promise<string | undefined> {
  return inodeKey(path);
}

/**
 * The directories holding a node's named netns, as the probe can reach them: its own
 * /var/run/netns, and, when the host netns is given as `/proc/<pid>/ns/net`, that process's
 * /run/netns through `/proc/<pid>/root`. A probe in a pod (hostPID, but its own mount namespace)
 * sees containerd's `cni-…` netns of the node only there: its own /var/run/netns is the image's.
 * `run/netns`, not `var/run/netns`: /var/run is an absolute link to /run, and an absolute link met
 * under /proc/<pid>/root resolves in the reader's root, not in the process's.
 */
export function netnsRunDirs(hostNetnsPath: string): string[] {
  const pid = /^\/proc\/(\d+)\/ns\/net$/.exec(hostNetnsPath)?.[1];
  return pid === undefined ? [NETNS_RUN_DIR] : [NETNS_RUN_DIR, `/proc/${pid}/root/run/netns`];
}

/**
 * Every netns reachable on this machine that is not `exclude` (by identity): the ones mounted in
 * `runDirs` first (named as `ip netns list` names them), then the ones only held by a process.
 * Bounded by the number of processes.
 */
export async function scanNetns(
  exclude: ReadonlySet<string>,
  runDirs: readonly string[] = [NETNS_RUN_DIR],
): Promise<NetnsCandidate[]> {
  const seen = new Set(exclude);
  const out: NetnsCandidate[] = [];
  for (const dir of runDirs) {
    const named = await readdir(dir).catch(() => [] as string[]);
    for (const name of named.sort()) {
      const path = `${dir}/${name}`;
      const key = await inodeKey(path);
      if (key === undefined || seen.has(key)) continue;
      seen.add(key);
      out.push({ name, path });
    }
  }
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  for (const pid of pids.sort((a, b) => Number(a) - Number(b))) {
    const path = `/proc/${pid}/ns/net`;
    const key = await inodeKey(path);
    if (key === undefined || seen.has(key)) continue;
    seen.add(key);
    out.push({ name: `ns-${key.split(":")[1]}`, path });
  }
  return out;
}

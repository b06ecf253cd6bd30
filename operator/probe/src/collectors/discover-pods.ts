/**
 * Which pod netns hang off a node: the host netns' veths whose peer lives in another netns. The
 * peer netns is named by the host's `ip netns list-id` when it is mounted under /var/run/netns;
 * otherwise it is found by scanning /var/run/netns and /proc/<pid>/ns/net. A candidate only counts
 * when it really holds the other end of one of the host's veths (same ifindex pair), so a netns
 * whose veth peer is on another node is never taken for one of this node's pods.
 */
import { readdir, stat } from "node:fs/promises";
import type { RawAddr, RawLink } from "./iproute-json.js";
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

/**
 * The host veths that lead to pods. A veth that carries one of the host's own global addresses is
 * the node's uplink (e.g. a kind or lab node's eth0), not a pod's: it is left out.
 */
export function podFacingVeths(links: readonly RawLink[], addrs: readonly RawAddr[]): HostVeth[] {
  const addressed = new Set(addrs.filter((a) => a.scope === "global").map((a) => a.ifname));
  const out: HostVeth[] = [];
  for (const l of links) {
    if (l.kind !== "veth" || l.linkNetnsid === undefined || l.linkIndex === undefined) continue;
    if (addressed.has(l.ifname)) continue;
    const v: HostVeth = {
      ifindex: l.ifindex,
      ifname: l.ifname,
      peerIfindex: l.linkIndex,
      nsid: l.linkNetnsid,
    };
    if (l.master !== undefined) v.master = l.master;
    out.push(v);
  }
  return out;
}

/** True when `podLinks` (the candidate's `ip -j link`) holds the peer of one of `veths`. */
export function holdsPeerOf(podLinks: readonly RawLink[], veths: readonly HostVeth[]): boolean {
  return veths.some((v) =>
    podLinks.some((p) => p.kind === "veth" && p.ifindex === v.peerIfindex && p.linkIndex === v.ifindex),
  );
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
 * Every netns reachable on this machine that is not `exclude` (by identity): the ones mounted under
 * /var/run/netns first, then the ones only held by a process. Bounded by the number of processes.
 */
export async function scanNetns(exclude: ReadonlySet<string>): Promise<NetnsCandidate[]> {
  const seen = new Set(exclude);
  const out: NetnsCandidate[] = [];
  const named = await readdir(NETNS_RUN_DIR).catch(() => [] as string[]);
  for (const name of named.sort()) {
    const path = `${NETNS_RUN_DIR}/${name}`;
    const key = await inodeKey(path);
    if (key === undefined || seen.has(key)) continue;
    seen.add(key);
    out.push({ name, path });
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

/**
 * The path's shape, shared by every view: hops grouped by node, then by netns, with the tunnel
 * between nodes as its own group. Text, Mermaid and the TUI all walk this, so they never disagree
 * about where a hop sits.
 */
import type { DirectionResult, Hop, TraceResult } from "@netmap/core";

/** A run of consecutive hops in one netns of one node. */
export interface NetnsGroup {
  kind: "netns";
  node: string;
  netns: string;
  /** "ns/name" of the pod, when the netns is a pod's. */
  pod?: string;
  hops: Hop[];
}

/** The outer header a packet travels in between two nodes (from an encap hop). */
export interface TunnelGroup {
  kind: "tunnel";
  /** The encapsulating device ("flannel.1"). */
  device?: string;
  primitive: Hop["primitive"];
  src: string;
  dst: string;
  protocol: "udp" | "ipip";
  dport?: number;
  vni?: number;
}

/** All the groups one node contributes, in path order. */
export interface NodeGroup {
  node: string;
  groups: NetnsGroup[];
}

/** One entry of the path: a node's groups, or the tunnel between two nodes. */
export type PathSection = { kind: "node"; node: NodeGroup } | TunnelGroup;

/** A person's name for a netns: "pod default/pod-a (cni-1234)" or "host netns". */
export function netnsLabel(group: Pick<NetnsGroup, "netns" | "pod">): string {
  if (group.netns === "host") return "host netns";
  return group.pod ? `pod ${group.pod} (netns ${group.netns})` : `netns ${group.netns}`;
}

/** Describes a tunnel as "vxlan flannel.1 VNI 1: 192.168.100.1 → 192.168.100.2 udp/8472". */
export function tunnelLabel(t: TunnelGroup): string {
  const vni = t.vni !== undefined ? ` VNI ${t.vni}` : "";
  const port = t.dport !== undefined ? `/${t.dport}` : "";
  const dev = t.device ? ` ${t.device}` : "";
  return `${t.primitive}${dev}${vni}: ${t.src} → ${t.dst} ${t.protocol}${port}`;
}

/** One direction of the connection: how it went, and its path. */
export interface DirectionLayout {
  result: DirectionResult;
  sections: PathSection[];
}

/** The request, then (once it was delivered) the reply, each with its own path. */
export function layoutDirections(result: TraceResult): DirectionLayout[] {
  return result.directions.map((d) => ({
    result: d,
    sections: layoutPath(result.hops.filter((h) => h.direction === d.direction)),
  }));
}

/** The verdict as a person reads it: "Delivered both ways" when the reply came back too. */
export function verdictLabel(result: TraceResult): string {
  return result.verdict === "Delivered" && result.directions.length > 1
    ? "Delivered both ways"
    : result.verdict;
}

/** "reply: tcp 10.244.2.2:8080 → 10.244.1.3:40000", the heading of a direction's section. */
export function directionLabel(d: DirectionResult): string {
  return `${d.direction}: ${packetLabel(d.packet)}`;
}

/** Splits hops into node sections (each split into netns groups) and tunnels between them. */
export function layoutPath(hops: readonly Hop[]): PathSection[] {
  const sections: PathSection[] = [];
  let pendingTunnel: TunnelGroup | undefined;
  let currentNode: NodeGroup | undefined;
  for (const hop of hops) {
    if (!currentNode || currentNode.node !== hop.node) {
      if (pendingTunnel && currentNode) sections.push(pendingTunnel);
      pendingTunnel = undefined;
      currentNode = { node: hop.node, groups: [] };
      sections.push({ kind: "node", node: currentNode });
    }
    const last = currentNode.groups.at(-1);
    if (last && last.netns === hop.netns) {
      last.hops.push(hop);
    } else {
      const group: NetnsGroup = { kind: "netns", node: hop.node, netns: hop.netns, hops: [hop] };
      if (hop.pod) group.pod = hop.pod;
      currentNode.groups.push(group);
    }
    if (hop.action === "encap" && hop.outer) {
      pendingTunnel = { kind: "tunnel", primitive: hop.primitive, ...hop.outer };
      if (hop.device) pendingTunnel.device = hop.device;
    }
  }
  return sections;
}

/** Findings grouped by the hop they belong to; findings without a hop are under -1. */
export function findingsByHop(result: TraceResult): Map<number, TraceResult["findings"]> {
  const map = new Map<number, TraceResult["findings"]>();
  for (const f of result.findings) {
    const key = f.hop ?? -1;
    const list = map.get(key) ?? [];
    list.push(f);
    map.set(key, list);
  }
  return map;
}

/** The packet as "tcp 10.244.0.2:40000 → 10.96.0.20:80" (ports only where known). */
export function packetLabel(p: TraceResult["packet"]): string {
  const sport = p.sport !== undefined ? `:${p.sport}` : "";
  const dport = p.dport !== undefined ? `:${p.dport}` : "";
  return `${p.protocol} ${p.src}${sport} → ${p.dst}${dport}`;
}

/** "33.3%" for 1/3; integers without decimals ("100%"). */
export function formatProbability(p: number): string {
  const pct = Math.round(p * 1000) / 10;
  return Number.isInteger(pct) ? `${pct}%` : `${pct.toFixed(1)}%`;
}

/** The device/rule column of a hop: the rule when there is one, else the device. */
export function hopTarget(hop: Hop): string {
  if (hop.rule && hop.device) return `${hop.device} ${hop.rule}`;
  return hop.rule ?? hop.device ?? "";
}

/** "target: summary", leaving out the target when the summary already names it. */
export function hopBody(hop: Hop): string {
  const target = hopTarget(hop);
  return target && !hop.summary.includes(target) ? `${target}: ${hop.summary}` : hop.summary;
}

/**
 * "sticky: ClientIP for 10800s (later connections from 10.244.1.3 go to the same endpoint,
 * 10.244.2.2:8080)" for a Service hop with session affinity; undefined otherwise.
 */
export function affinityLabel(hop: Hop): string | undefined {
  const a = hop.affinity;
  if (!a) return undefined;
  const chosen = hop.endpoints?.find((e) => e.chosen)?.address;
  return `sticky: ${a.mode} for ${a.timeoutSeconds}s (later connections from ${a.client} go to the same endpoint${chosen ? `, ${chosen}` : ""})`;
}

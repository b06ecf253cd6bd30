/**
 * Traces on the live lab, the way the probe will on a real node: every node is read by the real
 * collector (read-only commands inside its netns), parsed, and walked by the engine.
 */
import type { Direction, Hop, NodeState, Packet, TraceResult } from "@netmap/core";
import { assembleNodeState, clusterFactsFromNodes, trace } from "@netmap/core";
import { collectNode } from "@netmap/probe";
import { expect } from "vitest";
import type { Lab, LabPod } from "./lab.js";
import type { LinkCounters } from "./traffic.js";

/** Reads every lab node (host netns + its pod netns) from the kernel. */
export async function captureLab(lab: Lab): Promise<NodeState[]> {
  const nodes: NodeState[] = [];
  for (const n of lab.nodes) {
    const capture = await collectNode({ node: n.name, hostNetns: `/var/run/netns/${n.netns}` });
    nodes.push(assembleNodeState(capture));
  }
  return nodes;
}

export async function traceLab(lab: Lab, packet: Packet, endpoint?: number | string): Promise<TraceResult> {
  const nodes = await captureLab(lab);
  return trace({
    nodes,
    facts: clusterFactsFromNodes(nodes),
    packet,
    ...(endpoint !== undefined ? { endpoint } : {}),
  });
}

/** The last hop of the request: where it was delivered or stopped. */
export function requestEnd(r: TraceResult): Hop | undefined {
  return r.hops.filter((h) => h.direction === "request").at(-1);
}

/** The nodes one direction crossed, in order. */
export function nodesOf(r: TraceResult, direction: Direction): string[] {
  return r.segments.filter((s) => s.direction === direction).map((s) => s.node);
}

/** The (netns, device) pairs a packet crosses on a traced path: where interface counters must move. */
export function traversedDevices(
  lab: Lab,
  result: TraceResult,
): Array<{ netns: string; device: string; hop: number }> {
  const crossing = new Set(["transmit", "receive", "forward", "encap", "decap"]);
  const devicePrimitives = new Set(["veth", "bridge-port", "bridge", "device", "vxlan"]);
  const out: Array<{ netns: string; device: string; hop: number }> = [];
  for (const h of result.hops) {
    if (!h.device || !crossing.has(h.action) || !devicePrimitives.has(h.primitive)) continue;
    const netns = h.netns === "host" ? lab.nodes.find((n) => n.name === h.node)?.netns : h.netns;
    if (!netns) continue;
    if (!out.some((d) => d.netns === netns && d.device === h.device))
      out.push({ netns, device: h.device, hop: h.index });
  }
  return out;
}

/** The burst each fidelity check sends: ICMP echo requests, then TCP connections. */
export const BURST = 20;
export const TCP_CONNECTIONS = 10;
export const TCP_PORT = 8080;

type Counters = Map<string, Map<string, LinkCounters>>;

async function countersOf(lab: Lab, netnsList: readonly string[]): Promise<Counters> {
  const all: Counters = new Map();
  for (const ns of new Set(netnsList)) all.set(ns, await lab.linkCounters(ns));
  return all;
}

function moved(before: Counters, after: Counters, netns: string, dev: string): number {
  const a = after.get(netns)?.get(dev);
  const b = before.get(netns)?.get(dev);
  if (!a || !b) throw new Error(`no counters for ${dev} in ${netns}`);
  return a.rxPackets + a.txPackets - (b.rxPackets + b.txPackets);
}

/**
 * Sends a real burst along a traced path and checks the kernel's interface counters: every device
 * the trace crosses moves by at least the burst; other pods' host veths do not.
 */
export async function confirmWithCounters(
  lab: Lab,
  result: TraceResult,
  src: LabPod,
  dst: LabPod,
): Promise<{ traced: number; confirmed: number }> {
  const devices = traversedDevices(lab, result);
  const others = lab.pods.filter((p) => p !== src && p !== dst);
  const netnsToRead = [...devices.map((d) => d.netns), ...others.map((p) => p.nodeNetns)];
  const rules = tracedIptablesRules(lab, result);
  const before = await countersOf(lab, netnsToRead);
  const rulesBefore = await Promise.all(rules.map((r) => ruleCounter(lab, r)));
  const replies = await lab.ping(src, dst.ip, { count: BURST });
  const tcp = await lab.tcpProbe(src, dst.ip, TCP_PORT, { connections: TCP_CONNECTIONS });
  const after = await countersOf(lab, netnsToRead);
  const rulesAfter = await Promise.all(rules.map((r) => ruleCounter(lab, r)));
  expect(replies).toBe(BURST);
  expect(tcp.connected).toBe(TCP_CONNECTIONS);
  let confirmed = 0;
  for (const d of devices) {
    const n = moved(before, after, d.netns, d.device);
    expect(n, `hop ${d.hop}: ${d.device} in ${d.netns} moved ${n} packets`).toBeGreaterThanOrEqual(BURST);
    confirmed++;
  }
  // A nat rule sees the first packet of each connection (conntrack does the rest): the ping flow and
  // every TCP connection. Other tables see every packet of the burst.
  rules.forEach((r, i) => {
    const n = (rulesAfter[i] ?? 0) - (rulesBefore[i] ?? 0);
    const least = r.table === "nat" ? TCP_CONNECTIONS : BURST;
    expect(
      n,
      `hop ${r.hop}: ${r.table}/${r.chain} rule ${r.index} on ${r.netns} counted ${n}`,
    ).toBeGreaterThanOrEqual(least);
    confirmed++;
  });
  // Other pods' veths see at most a stray ARP broadcast, never the burst.
  for (const p of others) {
    const n = moved(before, after, p.nodeNetns, p.hostVeth);
    expect(n, `${p.hostVeth} of ${p.name} (not on the path) moved ${n}`).toBeLessThan(BURST / 2);
  }
  return { traced: devices.length + rules.length, confirmed };
}

interface TracedRule {
  netns: string;
  table: string;
  chain: string;
  index: number;
  hop: number;
}

/** The iptables rules a trace says the packet matched ("nat/CNI-… rule 2"), with the node netns they live in. */
export function tracedIptablesRules(lab: Lab, result: TraceResult): TracedRule[] {
  const out: TracedRule[] = [];
  for (const h of result.hops) {
    const m = h.primitive === "iptables-rule" ? /^(\w+)\/(\S+) rule (\d+)$/.exec(h.rule ?? "") : null;
    const netns = lab.nodes.find((n) => n.name === h.node)?.netns;
    if (!m || !netns || h.netns !== "host") continue;
    out.push({ netns, table: m[1] as string, chain: m[2] as string, index: Number(m[3]), hop: h.index });
  }
  return out;
}

/** The kernel's packet counter of one rule (`iptables -t T -L CHAIN N -v -x -n`). */
async function ruleCounter(lab: Lab, r: TracedRule): Promise<number> {
  const out = await lab.exec(r.netns, [
    "iptables",
    "-t",
    r.table,
    "-L",
    r.chain,
    String(r.index),
    "-v",
    "-x",
    "-n",
  ]);
  const packets = Number(out.stdout.trim().split(/\s+/)[0]);
  if (!Number.isFinite(packets))
    throw new Error(`no counter for ${r.table}/${r.chain} rule ${r.index}: ${out.stdout}`);
  return packets;
}

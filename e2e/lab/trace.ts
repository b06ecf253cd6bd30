/**
 * Traces on the live lab, the way the probe will on a real node: every node is read by the real
 * collector (read-only commands inside its netns), parsed, and walked by the engine.
 */
import type { NodeState, Packet, TraceResult } from "@netmap/core";
import { assembleNodeState, clusterFactsFromNodes, trace } from "@netmap/core";
import { collectNode } from "@netmap/probe";
import type { Lab } from "./lab.js";

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

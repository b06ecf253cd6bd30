/**
 * The trace engine, in process: a pure function of node states, cluster facts and a packet to an
 * ordered list of hops and a verdict, both ways. It is the loop the operator runs across probes —
 * nextStep names the node, walkNode walks it on that node's state alone — so a trace offline from
 * snapshots and a trace on a live cluster are the same computation. It never runs a command;
 * where state is missing it says Unknown and names what is missing.
 */

import { nodeAddresses } from "../model/node-addresses.js";
import type { ClusterFacts, NodeState } from "../model/state.js";
import type { Packet, TraceResult } from "../model/trace.js";
import type { NodeTask, NodeWalkResult, TraceRequest } from "../model/walk.js";
import { sameAddress } from "./ip.js";
import { walkNode } from "./node-walk.js";
import { nextStep, unwalkedNode } from "./plan.js";

export interface TraceInput {
  nodes: readonly NodeState[];
  facts: ClusterFacts;
  packet: Packet;
  /** Which Service endpoint to follow: an index in rule order, or "ip:port". Default: the first. */
  endpoint?: number | string;
}

export function trace(input: TraceInput): TraceResult {
  const { packet } = input;
  const source = sourceNode(input.nodes, packet.src);
  if (!source) return sourceMissing(input);
  const facts = withCapturedNodeAddresses(input.facts, input.nodes);
  const request: TraceRequest = {
    packet,
    source: { node: source.node },
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
  };
  const done: NodeWalkResult[] = [];
  for (;;) {
    const step = nextStep(request, done);
    if (step.kind === "done") return step.result;
    const { task } = step;
    const state = input.nodes.find((n) => n.node === task.node);
    done.push(state ? walkNode({ state, facts, task }) : notCaptured(task));
  }
}

/** The result of a task whose node has no snapshot: the trace ends there, Unknown, naming the node. */
export function notCaptured(task: NodeTask): NodeWalkResult {
  const to = task.arrival.kind === "wire" ? ` (${task.arrival.frame.to})` : "";
  return unwalkedNode(task, `the packet goes on to ${task.node}${to}, which was not captured`, [
    `a snapshot of node ${task.node}`,
  ]);
}

/** The node whose pod netns (or any netns, for a node's own address) holds the source address. */
function sourceNode(nodes: readonly NodeState[], src: string): NodeState | undefined {
  const has = (addrs: readonly { local: string }[]) => addrs.some((a) => sameAddress(a.local, src));
  return (
    nodes.find((n) => n.pods.some((p) => p.ips.some((ip) => sameAddress(ip, src)))) ??
    nodes.find((n) => has(n.host.addresses) || n.pods.some((p) => has(p.state.addresses)))
  );
}

function sourceMissing(input: TraceInput): TraceResult {
  const { packet } = input;
  const captured = input.nodes.map((n) => n.node).join(", ") || "none";
  const node = input.facts.pods.find((p) => p.ips.some((a) => sameAddress(a, packet.src)))?.node;
  const reason = `no captured network namespace holds the source address ${packet.src}`;
  const missing = [
    node
      ? `snapshot of node ${node} (where ${packet.src} runs) with its pod netns`
      : `a snapshot of the node that runs ${packet.src} (captured nodes: ${captured})`,
  ];
  return {
    packet,
    verdict: "Unknown",
    reason,
    stoppedIn: "request",
    missing,
    directions: [{ direction: "request", packet, verdict: "Unknown", reason, missing }],
    hops: [],
    findings: [],
    segments: [],
  };
}

/**
 * The facts, with the underlay addresses of every captured node the facts give none for (snapshots
 * carry no Node objects): a departure names its next node by them.
 */
export function withCapturedNodeAddresses(facts: ClusterFacts, nodes: readonly NodeState[]): ClusterFacts {
  const known = new Set(facts.nodes.filter((n) => n.addresses.length > 0).map((n) => n.name));
  const added = nodes
    .filter((n) => !known.has(n.node))
    .map((n) => ({ name: n.node, addresses: nodeAddresses(n), podCIDRs: [] as string[] }));
  if (added.length === 0) return facts;
  return { ...facts, nodes: [...facts.nodes.filter((n) => !added.some((a) => a.name === n.name)), ...added] };
}

/**
 * One node's walk: a pure function of that node's kernel state, the cluster facts and a task (the
 * packet and where it enters the node) to the node's hops and findings and one end — a verdict, or a
 * departure: the frame exactly as it leaves on the wire, and the node the facts say owns its next hop.
 * This is what a probe runs on its own node; it never sees another node's state.
 */
import type { ClusterFacts, NodeState } from "../model/state.js";
import type { Arrival, NodeEnd, NodeTask, NodeWalkResult } from "../model/walk.js";
import { TraceBuilder, TraceEnd } from "./builder.js";
import { ConntrackTable } from "./conntrack.js";
import type { Cursor, Next, WalkContext } from "./context.js";
import { stepNetns } from "./netns/step.js";
import { receiveFromWire } from "./receive/wire.js";
import { NodeWorld } from "./world.js";

export interface NodeWalkInput {
  /** The kernel state of the task's node. */
  state: NodeState;
  facts: ClusterFacts;
  task: NodeTask;
}

/** Bounds one node's walk: no real path crosses more network namespaces of one node than this. */
export const MAX_NETNS_TRANSITIONS = 32;

export function walkNode(input: NodeWalkInput): NodeWalkResult {
  const { task } = input;
  if (input.state.node !== task.node) {
    throw new Error(
      `walkNode: the task is for node ${task.node}, but the state given is node ${input.state.node}'s`,
    );
  }
  const b = new TraceBuilder(task.direction, task.firstHop);
  const ctx: WalkContext = {
    world: new NodeWorld(input.state, input.facts),
    b,
    direction: task.direction,
    ...(task.endpoint !== undefined ? { endpoint: task.endpoint } : {}),
    conntrack: new ConntrackTable(task.conntrack),
    created: [],
    ...(task.connection ? { connection: task.connection } : {}),
  };
  let end: NodeEnd;
  try {
    let next: Next = { kind: "netns", cursor: arrive(ctx, task.arrival) };
    for (let i = 0; next.kind === "netns"; i++) {
      if (i >= MAX_NETNS_TRANSITIONS) {
        b.stop(
          "Unknown",
          `the path crossed more than ${MAX_NETNS_TRANSITIONS} network namespaces on ${task.node} (a routing loop?)`,
          ["a loop-free path"],
        );
      }
      next = stepNetns(ctx, next.cursor);
    }
    end = { kind: "departure", departure: next.departure };
  } catch (e) {
    if (!(e instanceof TraceEnd)) throw e;
    end = {
      kind: "verdict",
      verdict: e.verdict,
      reason: e.reason,
      ...(e.missing && e.missing.length > 0 ? { missing: e.missing } : {}),
    };
  }
  return {
    step: task.step,
    node: task.node,
    direction: task.direction,
    arrival: task.arrival,
    hops: b.hops,
    findings: b.findings,
    end,
    conntrack: ctx.created,
  };
}

/** Where the packet starts on this node: in the sender's netns, or on the device that receives it. */
function arrive(ctx: WalkContext, arrival: Arrival): Cursor {
  if (arrival.kind === "wire") return receiveFromWire(ctx, arrival.frame, arrival.device);
  const { packet } = arrival;
  const world = ctx.world;
  const view =
    arrival.netns !== undefined
      ? world.netnsNamed(arrival.netns)
      : (world.podNetnsOf(packet.src) ?? world.netnsWithAddress(packet.src)?.view);
  if (!view) {
    const which = arrival.netns !== undefined ? `netns ${arrival.netns}` : `the source address ${packet.src}`;
    ctx.b.stop("Unknown", `no captured network namespace of ${world.name} holds ${which}`, [
      `a snapshot of ${world.name} with ${which}`,
    ]);
  }
  return { view, packet, ...(arrival.size !== undefined ? { sourceMtu: arrival.size } : {}) };
}

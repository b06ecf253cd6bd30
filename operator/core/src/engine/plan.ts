/**
 * The hand-off between nodes, as a pure replay: given the request and the node walks done so far (in
 * step order), the next node task — the node the last departure names, or, once the request is
 * delivered, the reply from the destination's netns back — or the finished TraceResult. It keeps no
 * state: the in-process trace() and the operator call it the same way, the operator after each probe
 * answers (and again after a restart, from the results it stored), so both give the same trace.
 */
import type {
  Direction,
  DirectionResult,
  Finding,
  NodeSegment,
  Packet,
  TraceResult,
  Verdict,
} from "../model/trace.js";
import type { ConntrackEntry, NodeTask, NodeWalkResult, TraceRequest } from "../model/walk.js";
import { endpointOf, reversed } from "./conntrack.js";

export type TraceStep = { kind: "walk"; task: NodeTask } | { kind: "done"; result: TraceResult };

/** Node walks in one direction at most: a longer path is a routing loop between nodes. */
export const MAX_NODE_WALKS = 16;

interface DirectionEnd {
  verdict: Verdict;
  reason: string;
  missing?: string[];
}

export function nextStep(request: TraceRequest, done: readonly NodeWalkResult[]): TraceStep {
  for (const [i, r] of done.entries()) {
    if (r.step !== i)
      throw new Error(`node walk ${i} is recorded as step ${r.step}: results must be in step order`);
  }
  const endpoint = request.endpoint !== undefined ? { endpoint: request.endpoint } : {};
  const last = done[done.length - 1];
  if (!last) {
    const netns = request.source.netns !== undefined ? { netns: request.source.netns } : {};
    return {
      kind: "walk",
      task: {
        step: 0,
        node: request.source.node,
        direction: "request",
        arrival: { kind: "local", packet: request.packet, ...netns },
        firstHop: 0,
        conntrack: [],
        ...endpoint,
      },
    };
  }
  const firstHop = done.reduce((n, r) => n + r.hops.length, 0);
  const reply = last.direction === "reply";
  const replyContext = (node: string) =>
    reply ? { conntrack: entriesOn(done, node), connection: request.packet } : { conntrack: [] };
  if (last.end.kind === "departure") {
    const { frame, node } = last.end.departure;
    if (node === undefined) {
      return finish(request, done, {
        verdict: "Unknown",
        reason: `the next hop ${frame.to} (out of ${last.end.departure.device} on ${last.node}) belongs to no known node`,
        missing: [`the node with address ${frame.to}`],
      });
    }
    if (done.filter((r) => r.direction === last.direction).length >= MAX_NODE_WALKS) {
      return finish(request, done, {
        verdict: "Unknown",
        reason: `the ${last.direction} crossed more than ${MAX_NODE_WALKS} nodes (a routing loop between nodes?)`,
        missing: ["a loop-free path"],
      });
    }
    return {
      kind: "walk",
      task: {
        step: done.length,
        node,
        direction: last.direction,
        arrival: { kind: "wire", frame },
        firstHop,
        ...endpoint,
        ...replyContext(node),
      },
    };
  }
  if (!reply && last.end.verdict === "Delivered") {
    const deliveredAt = last.hops[last.hops.length - 1];
    const delivered = packetAfter(last);
    return {
      kind: "walk",
      task: {
        step: done.length,
        node: last.node,
        direction: "reply",
        arrival: {
          kind: "local",
          packet: reversed(delivered),
          ...(deliveredAt ? { netns: deliveredAt.netns } : {}),
        },
        firstHop,
        ...endpoint,
        conntrack: entriesOn(done, last.node),
        connection: request.packet,
      },
    };
  }
  return finish(request, done);
}

/**
 * A task whose node has no walk to give (not captured, no probe): its result, so the trace ends
 * there as Unknown, naming what is missing.
 */
export function unwalkedNode(task: NodeTask, reason: string, missing: string[]): NodeWalkResult {
  return {
    step: task.step,
    node: task.node,
    direction: task.direction,
    arrival: task.arrival,
    hops: [],
    findings: [],
    end: { kind: "verdict", verdict: "Unknown", reason, missing },
    conntrack: [],
  };
}

/** The conntrack entries the request created on `node`. */
function entriesOn(done: readonly NodeWalkResult[], node: string): ConntrackEntry[] {
  return done
    .filter((r) => r.direction === "request")
    .flatMap((r) => r.conntrack.filter((e) => e.node === node));
}

function arrivalPacket(r: NodeWalkResult): Packet {
  return r.arrival.kind === "local" ? r.arrival.packet : r.arrival.frame.packet;
}

/** The packet as a node's walk left it: its arrival, changed by each hop that changed it. */
function packetAfter(r: NodeWalkResult): Packet {
  let p = arrivalPacket(r);
  for (const h of r.hops) if (h.packet) p = h.packet;
  return p;
}

function directionResult(
  direction: Direction,
  packet: Packet,
  walks: readonly NodeWalkResult[],
  override?: DirectionEnd,
): DirectionResult {
  const last = walks[walks.length - 1];
  const end: DirectionEnd =
    override ??
    (last?.end.kind === "verdict"
      ? last.end
      : { verdict: "Unknown", reason: `the ${direction} left ${last?.node ?? "?"} and was not followed` });
  const hops = walks.flatMap((w) => w.hops);
  const stoppedAt = end.verdict !== "Unknown" ? hops[hops.length - 1]?.index : undefined;
  return {
    direction,
    packet,
    verdict: end.verdict,
    reason: end.reason,
    ...(stoppedAt !== undefined ? { stoppedAt } : {}),
    ...(end.missing && end.missing.length > 0 ? { missing: end.missing } : {}),
  };
}

/**
 * Findings only the whole trace can see: a reply the client dropped because a NAT of the request was
 * never undone. When the reply never crossed a netns whose conntrack translated the request, that
 * netns is the cause (an asymmetric reply path); otherwise the mismatch itself is the finding.
 */
function replyFindings(
  request: TraceRequest,
  done: readonly NodeWalkResult[],
  findings: readonly Finding[],
): Finding[] {
  const replies = done.filter((r) => r.direction === "reply");
  const lastReply = replies[replies.length - 1];
  const stop = lastReply?.hops[lastReply.hops.length - 1];
  if (!lastReply || !stop || stop.primitive !== "local" || stop.action !== "drop") return [];
  if (findings.some((f) => f.code === "BR_NETFILTER_OFF" && f.severity === "error")) return [];
  const crossed = new Set(replies.flatMap((r) => r.hops.map((h) => `${h.node}\u0000${h.netns}`)));
  const bypassed = done
    .filter((r) => r.direction === "request")
    .flatMap((r) => r.conntrack)
    .filter((e) => (e.dnat || e.snat) && !crossed.has(`${e.node}\u0000${e.netns}`));
  const at = { hop: stop.index, node: stop.node, netns: stop.netns };
  if (bypassed.length === 0) {
    return [
      {
        code: "REPLY_MISMATCH",
        severity: "error",
        ...at,
        message: `${stop.summary}; the request was sent to ${endpointOf(request.packet, "dst")}`,
        evidence: stop.evidence,
      },
    ];
  }
  return bypassed.map((e) => ({
    code: "REPLY_BYPASSES_NAT" as const,
    severity: "error" as const,
    ...at,
    message: `the request was ${e.dnat ? `DNATed to ${endpointOf(reversed(e.reply), "dst")}` : `SNATed to ${endpointOf(reversed(e.reply), "src")}`} in ${e.netns === "host" ? "the host netns" : `netns ${e.netns}`} of ${e.node} (hop ${e.hop}), but the reply never crosses that netns, so conntrack never undoes the NAT: the reply path is asymmetric`,
    evidence: [
      {
        source: `conntrack entry of the request (hop ${e.hop})`,
        text: `${e.original.protocol} ${endpointOf(e.original, "src")} → ${endpointOf(e.original, "dst")}`,
      },
    ],
  }));
}

function segmentsOf(done: readonly NodeWalkResult[]): NodeSegment[] {
  const segments: NodeSegment[] = [];
  for (const r of done) {
    const first = r.hops[0];
    const last = r.hops[r.hops.length - 1];
    if (!first || !last) continue;
    segments.push({
      node: r.node,
      direction: r.direction,
      firstHop: first.index,
      lastHop: last.index,
      packetIn: arrivalPacket(r),
      packetOut: packetAfter(r),
    });
  }
  return segments;
}

/** The trace as a whole: both directions, one hop numbering, Delivered only when both arrive. */
function finish(request: TraceRequest, done: readonly NodeWalkResult[], override?: DirectionEnd): TraceStep {
  const requests = done.filter((r) => r.direction === "request");
  const replies = done.filter((r) => r.direction === "reply");
  const lastDirection = done[done.length - 1]?.direction ?? "request";
  const directions: DirectionResult[] = [
    directionResult("request", request.packet, requests, lastDirection === "request" ? override : undefined),
  ];
  const firstReply = replies[0];
  if (firstReply) {
    directions.push(
      directionResult(
        "reply",
        arrivalPacket(firstReply),
        replies,
        lastDirection === "reply" ? override : undefined,
      ),
    );
  }
  const hops = done.flatMap((r) => r.hops);
  const nodeFindings = done.flatMap((r) => r.findings);
  const findings = [...nodeFindings, ...replyFindings(request, done, nodeFindings)];
  const [req, rep] = directions as [DirectionResult, DirectionResult | undefined];
  const stopped = req.verdict !== "Delivered" || !rep ? req : rep;
  const bothWays = req.verdict === "Delivered" && rep?.verdict === "Delivered";
  const result: TraceResult = {
    packet: request.packet,
    verdict: stopped.verdict,
    reason: bothWays
      ? `${req.reason}; ${rep.reason}`
      : stopped === rep
        ? `reply: ${stopped.reason}`
        : stopped.reason,
    ...(stopped.stoppedAt !== undefined ? { stoppedAt: stopped.stoppedAt } : {}),
    ...(bothWays ? {} : { stoppedIn: stopped.direction }),
    ...(stopped.missing ? { missing: stopped.missing } : {}),
    directions,
    hops,
    findings,
    segments: segmentsOf(done),
  };
  return { kind: "done", result };
}

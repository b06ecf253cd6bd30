/** Accumulates hops and findings while the engine walks, and closes the trace with a verdict. */
import type {
  Evidence,
  Finding,
  FindingCode,
  Hop,
  NodeSegment,
  Packet,
  Severity,
  TraceResult,
  Verdict,
} from "../model/trace.js";
import type { NetnsView } from "./world.js";

export type HopInit = Omit<Hop, "index" | "node" | "netns" | "pod">;

export interface FindingInit {
  code: FindingCode;
  severity: Severity;
  message: string;
  evidence: Evidence[];
  device?: string;
}

/** Thrown inside the walk to end it; caught by `trace`. */
export class TraceEnd {
  constructor(
    readonly verdict: Verdict,
    readonly reason: string,
    readonly missing?: string[],
  ) {}
}

export class TraceBuilder {
  readonly hops: Hop[] = [];
  readonly findings: Finding[] = [];

  constructor(readonly packet: Packet) {}

  hop(view: NetnsView, init: HopInit): Hop {
    const hop: Hop = {
      index: this.hops.length,
      node: view.node,
      netns: view.state.netns,
      ...(view.pod ? { pod: `${view.pod.namespace}/${view.pod.name}` } : {}),
      ...init,
    };
    this.hops.push(hop);
    return hop;
  }

  /** A finding attached to the last hop (or to `hop` when given). */
  finding(view: NetnsView, init: FindingInit, hop?: number): Finding {
    const at = hop ?? (this.hops.length > 0 ? this.hops.length - 1 : undefined);
    const f: Finding = {
      code: init.code,
      severity: init.severity,
      ...(at !== undefined ? { hop: at } : {}),
      node: view.node,
      netns: view.state.netns,
      ...(init.device !== undefined ? { device: init.device } : {}),
      message: init.message,
      evidence: init.evidence,
    };
    // The same fault seen twice on one hop (e.g. an MTU seen from two devices) is one finding.
    if (!this.findings.some((x) => x.code === f.code && x.hop === f.hop && x.device === f.device)) {
      this.findings.push(f);
    }
    return f;
  }

  /**
   * The packet stops here: records the hop where the kernel discards it and what is wrong there
   * (the finding belongs to that hop; `view` when it is another netns's fault), then ends the walk.
   */
  drop(view: NetnsView, hop: HopInit, finding: FindingInit & { view?: NetnsView }, reason: string): never {
    this.hop(view, hop);
    const { view: findingView, ...init } = finding;
    this.finding(findingView ?? view, init);
    throw new TraceEnd("Dropped", reason);
  }

  /** Ends the walk: the packet reached its destination at the last hop. */
  deliver(reason: string): never {
    throw new TraceEnd("Delivered", reason);
  }

  /** Ends the walk: the packet stops at the last hop. */
  stop(verdict: Exclude<Verdict, "Delivered">, reason: string, missing?: string[]): never {
    throw new TraceEnd(verdict, reason, missing);
  }

  result(end: TraceEnd): TraceResult {
    const last = this.hops.length - 1;
    return {
      packet: this.packet,
      verdict: end.verdict,
      reason: end.reason,
      ...(last >= 0 && end.verdict !== "Unknown" ? { stoppedAt: last } : {}),
      ...(end.missing && end.missing.length > 0 ? { missing: end.missing } : {}),
      hops: this.hops,
      findings: this.findings,
      segments: segmentsOf(this.hops, this.packet),
    };
  }
}

/** Consecutive hops on one node form that node's segment, with the packet as it entered and left. */
export function segmentsOf(hops: readonly Hop[], first: Packet): NodeSegment[] {
  const segments: NodeSegment[] = [];
  let current = first;
  for (const hop of hops) {
    const seg = segments[segments.length - 1];
    if (!seg || seg.node !== hop.node) {
      segments.push({ node: hop.node, firstHop: hop.index, lastHop: hop.index, packetIn: current });
    } else {
      seg.lastHop = hop.index;
    }
    if (hop.packet) current = hop.packet;
    const open = segments[segments.length - 1];
    if (open) open.packetOut = current;
  }
  return segments;
}

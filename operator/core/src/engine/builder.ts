/**
 * Records one node's hops and findings while the engine walks it (hop numbers continue the trace's
 * global numbering), and ends the walk with a verdict. Recording only: deciding what the kernel does
 * happens in the walk.
 */
import type { Direction, Evidence, Finding, FindingCode, Hop, Severity, Verdict } from "../model/trace.js";
import type { NetnsView } from "./world.js";

export type HopInit = Omit<Hop, "index" | "direction" | "node" | "netns" | "pod">;

export interface FindingInit {
  code: FindingCode;
  severity: Severity;
  message: string;
  evidence: Evidence[];
  device?: string;
}

/** Thrown inside a node's walk to end the trace there; caught by walkNode. */
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

  constructor(
    readonly direction: Direction,
    /** Global index of the first hop this builder records. */
    readonly firstHop: number,
  ) {}

  /** Global index of the last hop recorded, if any. */
  get lastIndex(): number | undefined {
    return this.hops.length > 0 ? this.firstHop + this.hops.length - 1 : undefined;
  }

  hop(view: NetnsView, init: HopInit): Hop {
    const hop: Hop = {
      index: this.firstHop + this.hops.length,
      direction: this.direction,
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
    const at = hop ?? this.lastIndex;
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

  /** The packet stops here: records the hop where the kernel discards it and what is wrong there. */
  drop(view: NetnsView, hop: HopInit, finding: FindingInit, reason: string): never {
    this.hop(view, hop);
    this.finding(view, finding);
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
}

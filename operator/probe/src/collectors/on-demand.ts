/**
 * A trace over netfilter read on demand (iptables chain by chain, nft objects over netlink): the
 * engine stays pure and synchronous, and what a run asked for but did not have is read between
 * runs. Each run is pure code over what was read; the last run saw everything it entered, so its
 * result is the one a trace over complete dumps gives.
 */
import {
  type NodeWalkInput,
  type NodeWalkResult,
  type TraceInput,
  type TraceResult,
  trace,
  walkNode,
} from "@netmap/core";

/** Something a trace reads from the kernel as it asks: on-demand iptables or nft rulesets. */
export interface OnDemandSource {
  /** Objects asked for by the last run and not read yet. */
  readonly missing: number;
  /** Reads them. */
  fetchMissing(): Promise<void>;
  /** Commands or requests run so far. */
  readonly commands: number;
}

/** Trace runs at most (each may read what the previous one missed). */
export const MAX_TRACE_ROUNDS = 16;

export interface OnDemandResult<T> {
  result: T;
  /** Trace runs it took (the last one read nothing new). */
  rounds: number;
  /** Commands and requests the sources ran, in the order given. */
  commands: number[];
}

export type OnDemandTraceResult = OnDemandResult<TraceResult>;

/**
 * Runs `run` (a pure engine call over node states holding `sources`), reading what each run missed
 * from the kernel, until a run misses nothing.
 */
export async function runOnDemand<T>(
  run: () => T,
  sources: readonly OnDemandSource[],
): Promise<OnDemandResult<T>> {
  for (let round = 1; round <= MAX_TRACE_ROUNDS; round++) {
    const result = run();
    const pending = sources.filter((s) => s.missing > 0);
    if (pending.length === 0) return { result, rounds: round, commands: sources.map((s) => s.commands) };
    await Promise.all(pending.map((s) => s.fetchMissing()));
  }
  throw new Error(`the engine still asked for new chains after ${MAX_TRACE_ROUNDS} rounds (a jump loop?)`);
}

/** The whole trace over node states whose netfilter is read on demand. */
export function traceOnDemand(
  input: TraceInput,
  sources: readonly OnDemandSource[],
): Promise<OnDemandTraceResult> {
  return runOnDemand(() => trace(input), sources);
}

/** One node's walk (a probe's part of a trace) over its state read on demand. */
export function walkNodeOnDemand(
  input: NodeWalkInput,
  sources: readonly OnDemandSource[],
): Promise<OnDemandResult<NodeWalkResult>> {
  return runOnDemand(() => walkNode(input), sources);
}

/**
 * Where a trace result comes from. The offline form reads snapshots and runs the engine in-process;
 * the online form (a later issue) creates a NetworkTrace and watches its status; `view` reads a
 * saved result. All of them hand the same TraceResult to the same renderers, and report progress
 * through the same events, so the TUI's progress line works for each.
 */
import type { TraceResult } from "@netmap/core";

/** Something happening while a trace runs: which node is being worked on, and what. */
export interface ProgressEvent {
  /** The node being worked on, when the step is about one node. */
  node?: string;
  /** What is happening, for a person ("reading snapshot", "tracing", "waiting for probe"). */
  message: string;
  /** Milliseconds since the trace started. */
  elapsedMs: number;
}

/** Receives progress events; must not throw. */
export type ProgressListener = (event: ProgressEvent) => void;

/** A producer of one trace result. */
export interface TraceSource {
  /** Short description for progress lines and errors ("snapshots in ./snap", "NetworkTrace default/x"). */
  readonly description: string;
  /** Produces the result, reporting progress as it goes. Rejects with a CliError on failure. */
  run(onProgress: ProgressListener): Promise<TraceResult>;
}

/** A stopwatch-bound progress reporter: `report("tracing", "node-1")`. */
export function progressReporter(listener: ProgressListener, now: () => number = Date.now) {
  const start = now();
  return (message: string, node?: string): void => {
    const event: ProgressEvent = { message, elapsedMs: now() - start };
    if (node !== undefined) event.node = node;
    listener(event);
  };
}

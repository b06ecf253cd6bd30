/**
 * Showing a NetworkTrace the cluster is working on: the same output path as the offline form, with
 * Ctrl-C (SIGINT outside the TUI; the TUI's own Ctrl-C before the result), SIGTERM or SIGHUP
 * cancelling the wait, and the verdict as the exit code (cli/errors.ts).
 */
import { InterruptedError, VerdictExit } from "../cli/errors.js";
import type { Io } from "../cli/io.js";
import type { NetworkTraceSource } from "../source/networktrace.js";
import { type ShowOptions, showTrace } from "./output.js";

/** Shows the trace; resolves when it was Delivered both ways, else throws VerdictExit or the error. */
export async function showNetworkTrace(source: NetworkTraceSource, show: ShowOptions, io: Io): Promise<void> {
  // Ctrl-C, a closed terminal, a kill: stop waiting, so the caller can still delete the trace.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const cancel = () => source.cancel();
  for (const s of signals) process.on(s, cancel);
  let result: Awaited<ReturnType<typeof showTrace>>;
  try {
    result = await showTrace(source, show, io);
  } finally {
    for (const s of signals) process.off(s, cancel);
    source.cancel();
  }
  if (!result) throw new InterruptedError(`quit before ${source.description} had a result`);
  if (result.verdict !== "Delivered") throw new VerdictExit(result.verdict);
}

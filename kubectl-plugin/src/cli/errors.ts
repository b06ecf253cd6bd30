/**
 * Errors a user can act on, and the exit codes kubectl-netmap uses: 0 success (for a trace:
 * Delivered both ways), 1 usage or input (bad flag, unknown pod, unreadable snapshot), 2 the trace
 * could not run (no operator, no permission, API server unreachable, a node did not answer), and
 * for a finished trace whose packet did not get through: 3 Dropped, 4 Rejected, 5 Unknown (the
 * state needed was missing); 130 interrupted (Ctrl-C).
 */
import type { Verdict } from "@netmap/core";

/** Exit codes of kubectl-netmap. */
export const ExitCode = {
  ok: 0,
  usage: 1,
  traceFailed: 2,
  dropped: 3,
  rejected: 4,
  unknown: 5,
  interrupted: 130,
} as const;

/** The exit code type. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error with a message for a person, an optional hint (what to do next) and an exit code. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(message: string, opts: { hint?: string; exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.usage;
  }
}

/** Bad input: an unknown address, a malformed flag value, an unreadable snapshot (exit 1). */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  constructor(message: string, hint?: string) {
    super(message, hint !== undefined ? { hint, exitCode: ExitCode.usage } : { exitCode: ExitCode.usage });
  }
}

/** The trace could not run (engine failure, missing engine, operator not installed) (exit 2). */
export class TraceFailedError extends CliError {
  override readonly name = "TraceFailedError";
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.traceFailed });
  }
}

/** The exit code for a finished trace's verdict: 0 only when delivered both ways. */
export function verdictExitCode(verdict: Verdict): ExitCodeValue {
  switch (verdict) {
    case "Delivered":
      return ExitCode.ok;
    case "Dropped":
      return ExitCode.dropped;
    case "Rejected":
      return ExitCode.rejected;
    case "Unknown":
      return ExitCode.unknown;
  }
}

/** Ends a command with a verdict's exit code; the result is already printed, so main prints nothing. */
export class VerdictExit extends CliError {
  override readonly name = "VerdictExit";
  constructor(readonly verdict: Verdict) {
    super(`the verdict is ${verdict}`, { exitCode: verdictExitCode(verdict) });
  }
}

/** The user interrupted (Ctrl-C) before the trace finished (exit 130). */
export class InterruptedError extends CliError {
  override readonly name = "InterruptedError";
  constructor(message: string) {
    super(message, { exitCode: ExitCode.interrupted });
  }
}

/** An error carrying a `hint` (the probe's SnapshotError and CollectError), matched by shape. */
export interface HintedError extends Error {
  hint: string;
}

/** True for errors with a string `hint` (SnapshotError, CollectError, CliError with a hint). */
export function isHintedError(err: unknown): err is HintedError {
  return err instanceof Error && typeof (err as Partial<HintedError>).hint === "string";
}

/**
 * Turns a probe error (whose message already ends in "\n  hint: …") into a UsageError, so main
 * prints message and hint once each.
 */
export function usageErrorFrom(err: HintedError): UsageError {
  const suffix = `\n  hint: ${err.hint}`;
  const message = err.message.endsWith(suffix) ? err.message.slice(0, -suffix.length) : err.message;
  return new UsageError(message, err.hint);
}

/** Formats an error for stderr: "error: message" and, when there is one, "hint: …". */
export function formatError(err: unknown): string {
  if (err instanceof CliError) return `error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ""}`;
  if (isHintedError(err)) return formatError(usageErrorFrom(err));
  if (err instanceof Error) return `error: ${err.message}\n`;
  return `error: ${String(err)}\n`;
}

/**
 * Bounded commands for the harness: every command has a timeout (SIGKILL when exceeded), runs
 * without a shell, and a failure names the command, its exit and its stderr.
 */
import { spawn } from "node:child_process";

export interface ExecOptions {
  timeoutMs?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Environment added over the harness's own. */
  env?: Record<string, string>;
  /** Copy the command's stderr to ours as it comes (long builds print progress there). */
  passStderr?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal (or by the timeout). */
  code: number | null;
  timedOut: boolean;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

/** A command failed or timed out; `stderr` and `code` are kept for callers that match on them. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(message: string, argv: readonly string[], code: number | null, stdout: string, stderr: string) {
    super(message);
    this.name = "CommandError";
    this.argv = argv;
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Runs argv and resolves with its output whatever its exit; rejects only if it cannot start. */
export function execCommand(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error("execCommand: empty argv"));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (opts.passStderr) process.stderr.write(d);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, timedOut });
    });
    child.stdin.on("error", () => {
      // the command may exit before reading stdin; its exit status tells what happened
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs argv; returns stdout, or throws a CommandError with the command, its exit and stderr. */
export async function execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execCommand(argv, opts);
  if (r.code === 0 && !r.timedOut) return r.stdout;
  const why = r.timedOut
    ? `timed out after ${opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS} ms`
    : `exit ${r.code ?? "by signal"}`;
  const detail = r.stderr.trim() || r.stdout.trim();
  throw new CommandError(
    `\`${argv.join(" ")}\` failed (${why}): ${detail}`,
    argv,
    r.code,
    r.stdout,
    r.stderr,
  );
}

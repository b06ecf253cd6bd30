/**
 * Bounded process execution for the lab: every command has a timeout (SIGKILL when exceeded) and
 * runs without a shell. `inNetns` prefixes `nsenter --net=/var/run/netns/<name> --`.
 */
import { spawn, spawnSync } from "node:child_process";

export const DEFAULT_TIMEOUT_MS = 15_000;

export interface RunOptions {
  timeoutMs?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Extra environment (merged over a minimal PATH/LC_ALL environment). */
  env?: Record<string, string>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal. */
  code: number | null;
  timedOut: boolean;
}

/** A lab command failed; the message carries the command and its stderr. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}

function baseEnv(extra?: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LC_ALL: "C",
    ...extra,
  };
}

/** Runs argv, resolving with its output whatever the exit code; rejects only if it cannot start. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new LabError("run: empty argv"));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: baseEnv(opts.env), stdio: ["pipe", "pipe", "pipe"] });
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
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new LabError(`cannot run \`${argv.join(" ")}\`: ${e.message} (run e2e/lab/install-deps.sh)`));
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

/** Runs argv and throws a LabError (command, exit, stderr) unless it exits 0. */
export async function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : `exit ${r.code}`;
    throw new LabError(
      `\`${argv.join(" ")}\` failed (${why}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`,
    );
  }
  return r.stdout;
}

/** Synchronous, bounded variant for exit handlers (where nothing async can run). */
export function runSync(argv: readonly string[], timeoutMs = 5_000): number | null {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return null;
  return spawnSync(cmd, args, { env: baseEnv(), timeout: timeoutMs, killSignal: "SIGKILL", stdio: "ignore" })
    .status;
}

/** The path of a named netns. */
export function netnsPath(netns: string): string {
  return `/var/run/netns/${netns}`;
}

/** argv that runs `argv` inside the named netns. */
export function inNetns(netns: string, argv: readonly string[]): string[] {
  return ["nsenter", `--net=${netnsPath(netns)}`, "--", ...argv];
}

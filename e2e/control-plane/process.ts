/**
 * Long-running children (etcd, kube-apiserver): output to a log file, a bounded stop (SIGTERM,
 * then SIGKILL), and a registry so that every child still alive is killed when this process exits
 * — normally, on an uncaught error, or on SIGINT/SIGTERM. Where util-linux's `setpriv` exists the
 * child also gets a parent-death signal, so not even a SIGKILLed test runner leaves one behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const SETPRIV = "/usr/bin/setpriv";
const live = new Set<ChildProcess>();
const cleanups = new Set<() => void>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort on the way out
    }
  }
  cleanups.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAllNow();
      // Die of the same signal, as if no handler had been installed.
      process.kill(process.pid, signal);
    });
  }
}

/** Runs `fn` synchronously on process exit (e.g. removing a temp dir); returns an unregister function. */
export function onExit(fn: () => void): () => void {
  installExitHooks();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(path: string, lines = 25): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export function startProcess(name: string, argv: readonly string[], logPath: string): ManagedProcess {
  installExitHooks();
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error(`${name}: empty argv`);
  const fd = openSync(logPath, "a");
  const full = existsSync(SETPRIV) ? [SETPRIV, "--pdeathsig", "KILL", "--", cmd, ...args] : [cmd, ...args];
  let child: ChildProcess;
  try {
    child = spawn(full[0] as string, full.slice(1), { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${name} (${cmd}): spawn failed; is the binary there?`);
  live.add(child);
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      running = false;
      live.delete(child);
      resolve(code);
    });
  });
  child.on("error", () => {
    // spawn errors surface as an exit without a pid above, or in the log
  });
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (!running) return;
    child.kill("SIGTERM");
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
    if ((await Promise.race([exited, timer])) === "timeout") {
      child.kill("SIGKILL");
      const hard = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5_000).unref());
      if ((await Promise.race([exited, hard])) === "timeout") {
        throw new Error(`${name} (pid ${pid}) did not exit 5 s after SIGKILL`);
      }
    }
  };
  return { name, pid, logPath, exited, isRunning: () => running, stop };
}

/**
 * Live processes whose command line mentions `needle` (a control plane's dir, say), with the base
 * name of the program each runs.
 */
export function processesMentioning(needle: string): Array<{ pid: number; program: string }> {
  const found: Array<{ pid: number; program: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(needle))
        found.push({ pid: Number(entry), program: basename(cmdline.split("\0")[0] ?? "") });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

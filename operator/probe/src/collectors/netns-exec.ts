/**
 * Run one read-only command inside a network namespace: `nsenter --net=<path> -- argv…`, through
 * execFile (no shell), bounded in time and output size.
 */
import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { toolEnv } from "./tool-env.js";

/** Default bound for one command (a big node's `iptables-save -c` takes well under this). */
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
/** Output bound: a 64 MiB dump plus headroom. */
export const DEFAULT_EXEC_MAX_BUFFER = 80 * 1024 * 1024;

/** Where named network namespaces are mounted (`ip netns add`). */
export const NETNS_RUN_DIR = "/var/run/netns";

export interface NetnsExecResult {
  stdout: string;
  stderr: string;
  /** The command's exit code (127 when the tool is not installed). */
  exitCode: number;
  /** True when the tool itself is not there (nsenter reported ENOENT / exit 127). */
  toolMissing: boolean;
}

export interface NetnsExecOptions {
  timeoutMs?: number;
  maxBuffer?: number;
}

/** A command could not be run to completion (timeout, output too large, nsenter missing, bad netns). */
export class NetnsExecError extends Error {
  constructor(
    message: string,
    /** What the user can do about it. */
    readonly hint: string,
    readonly netnsPath: string,
    readonly argv: readonly string[],
  ) {
    super(`${message} (${hint})`);
    this.name = "NetnsExecError";
  }
}

/**
 * A netns given by path (`/proc/1/ns/net`, `/var/run/netns/<name>`, `/proc/<pid>/ns/net`) is used as
 * is; anything without a slash is a name under /var/run/netns.
 */
export function resolveNetnsPath(ref: string): string {
  if (ref.length === 0) throw new Error("empty netns reference: give a path like /proc/1/ns/net or a name");
  if (ref.includes("/")) return ref;
  if (ref === "." || ref === "..") throw new Error(`invalid netns name "${ref}"`);
  return `${NETNS_RUN_DIR}/${ref}`;
}

/** The path of `netns`, or a NetnsExecError saying it does not exist (`argv`: what was to run). */
export async function existingNetns(netns: string, argv: readonly string[]): Promise<string> {
  const path = resolveNetnsPath(netns);
  try {
    await access(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM")
      throw new NetnsExecError(
        `cannot open netns ${path}: permission denied`,
        "opening another user's /proc/<pid>/ns/net needs CAP_SYS_PTRACE (the probe's container adds it; check the probe's securityContext)",
        path,
        argv,
      );
    throw new NetnsExecError(
      `netns ${path} does not exist`,
      "check the netns path/name (`ip netns list`, or /proc/<pid>/ns/net of a running process)",
      path,
      argv,
    );
  }
  return path;
}

interface ExecFailure {
  code?: number | string | null;
  killed?: boolean;
  signal?: string | null;
  message: string;
}

function isExecFailure(e: unknown): e is ExecFailure {
  return typeof e === "object" && e !== null && "message" in e;
}

const TOOL_MISSING_RE = /nsenter: failed to execute .*: No such file or directory/;

/**
 * Runs `argv` inside the netns `netns` (path or name). Resolves for any exit code: a non-zero exit
 * is the caller's to judge; `toolMissing` tells an absent tool from a failing one. Rejects with a
 * NetnsExecError when the netns does not exist, nsenter is missing, or the bounds are exceeded.
 */
export async function netnsExec(
  netns: string,
  argv: readonly string[],
  opts: NetnsExecOptions = {},
): Promise<NetnsExecResult> {
  if (argv.length === 0) throw new Error("netnsExec: empty argv");
  const path = await existingNetns(netns, argv);
  const timeout = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const maxBuffer = opts.maxBuffer ?? DEFAULT_EXEC_MAX_BUFFER;
  return new Promise((resolve, reject) => {
    execFile(
      "nsenter",
      [`--net=${path}`, "--", ...argv],
      { timeout, maxBuffer, encoding: "utf8", killSignal: "SIGKILL", env: toolEnv() },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ stdout, stderr, exitCode: 0, toolMissing: false });
          return;
        }
        if (!isExecFailure(err)) {
          reject(err);
          return;
        }
        const cmd = argv.join(" ");
        if (err.code === "ENOENT") {
          reject(
            new NetnsExecError(
              "nsenter is not installed",
              "install util-linux (apt-get install util-linux)",
              path,
              argv,
            ),
          );
          return;
        }
        if (err.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") {
          reject(
            new NetnsExecError(
              `\`${cmd}\` in ${path} printed more than ${maxBuffer} bytes`,
              "raise maxBuffer or capture less",
              path,
              argv,
            ),
          );
          return;
        }
        if (err.killed || err.signal) {
          reject(
            new NetnsExecError(
              `\`${cmd}\` in ${path} did not finish within ${timeout} ms (signal ${err.signal ?? "?"})`,
              "the node may be overloaded or the ruleset huge; retry or raise the timeout",
              path,
              argv,
            ),
          );
          return;
        }
        const exitCode = typeof err.code === "number" ? err.code : 1;
        if (exitCode !== 0 && /nsenter: (cannot open|reassociate)/.test(stderr)) {
          reject(
            new NetnsExecError(
              `cannot enter netns ${path}: ${stderr.trim()}`,
              "run as root (CAP_SYS_ADMIN) and check the netns still exists",
              path,
              argv,
            ),
          );
          return;
        }
        // nsenter exits 127 when execvp fails with ENOENT ("failed to execute <tool>").
        resolve({ stdout, stderr, exitCode, toolMissing: exitCode === 127 || TOOL_MISSING_RE.test(stderr) });
      },
    );
  });
}

/** In-memory streams for running main() in tests. */
import { PassThrough } from "node:stream";
import type { Io } from "../cli/io.js";

/** A captured run: the Io to pass, and what was written. */
export interface CapturedIo {
  io: Io;
  out: () => string;
  err: () => string;
}

/** An Io whose stdout/stderr are strings (not a TTY) and whose stdin is `input`. */
export function captureIo(input = "", env: NodeJS.ProcessEnv = {}): CapturedIo {
  let out = "";
  let err = "";
  const stdin = new PassThrough();
  stdin.end(input);
  return {
    io: {
      stdout: { write: (s: string) => (out += s), isTTY: false },
      stderr: { write: (s: string) => (err += s), isTTY: false },
      stdin,
      env,
    },
    out: () => out,
    err: () => err,
  };
}

/** argv as process.argv has it. */
export function argv(...args: string[]): string[] {
  return ["node", "kubectl-netmap", ...args];
}

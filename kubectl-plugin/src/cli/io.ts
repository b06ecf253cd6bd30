/** The process's streams and environment, passed in so commands can be run and tested in-process. */

/** A writable text stream; `isTTY`/`columns` as on a tty.WriteStream. */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What a command may touch of the process. */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** The real process. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Reads all of stdin as text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Width for text output: the terminal's columns on a tty (at least 40), else a stable 80. */
export function outputWidth(io: Io): number {
  if (io.stdout.isTTY && io.stdout.columns) return Math.max(40, io.stdout.columns);
  return 80;
}

/**
 * `nft -j list table …` for a trace, without holding the listing in memory: nft writes into an
 * unlinked temporary file, the file is indexed as it is read back in 1 MiB chunks
 * (NftChunkScanner), and chains are decoded from the file at their offsets when the walk asks for
 * them (parseNftIndexed). A 10k-Service kube-proxy table is ~50 MB of JSON; this keeps the process
 * at its baseline plus the index.
 */
import { spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type LazyNftRuleset,
  NftChunkScanner,
  type NftElementIndex,
  type NftText,
  parseNftIndexed,
  scanError,
} from "@netmap/core";
import { DEFAULT_EXEC_TIMEOUT_MS, type NetnsExecOptions, resolveNetnsPath } from "./netns-exec.js";
import { toolEnv } from "./tool-env.js";

const CHUNK = 1 << 20;
const WINDOW = 1 << 16;

/** An open file read at offsets: the NftText of a document that is not in memory. */
export class FileText implements NftText {
  private buf: Buffer | undefined;
  private win = { text: "", base: 0 };

  private closed = false;

  constructor(
    private readonly fd: number,
    readonly length: number,
  ) {}

  /** Closes the file (it has no name on disk, so this frees it). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /**
   * A 64 KiB latin1 window from `start` (reused while requests fall inside it). Small on purpose:
   * each window is a new string, and 64 KiB ones die young instead of piling up as large objects.
   */
  window(start: number, min: number): { text: string; base: number } {
    const { text, base } = this.win;
    if (start >= base && start + min <= base + text.length) return this.win;
    // A closed descriptor's number may already belong to another file: never read through it.
    if (this.closed) throw new Error("the nft ruleset's file was released: decode chains before release()");
    const size = Math.max(WINDOW, min);
    if (!this.buf || this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
    const got = readSync(this.fd, this.buf, 0, Math.min(size, this.length - start), start);
    this.win = { text: this.buf.toString("latin1", 0, got), base: start };
    return this.win;
  }

  slice(start: number, end: number): string {
    const from = Math.max(0, start);
    const n = Math.max(0, Math.min(end, this.length) - from);
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, from + got);
      if (r === 0) break;
      got += r;
    }
    return buf.toString("utf8", 0, got);
  }
}

/** Indexes the nft JSON document in `fd` by reading it in chunks. */
export function indexNftFile(fd: number, size: number): NftElementIndex {
  const scanner = new NftChunkScanner();
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; pos < size; ) {
    const r = readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos);
    if (r === 0) break;
    scanner.feed(buf.subarray(0, r));
    pos += r;
  }
  return scanner.finish();
}

/** How a command that wrote into a file ended. */
export interface FileExecResult {
  exitCode: number;
  stderr: string;
  /** The open, already unlinked file holding stdout; the caller owns it. */
  fd: number;
}

/** Runs `argv` in `netns` with stdout into an unlinked temporary file. */
export async function netnsExecToFile(
  netns: string,
  argv: readonly string[],
  opts: NetnsExecOptions = {},
): Promise<FileExecResult> {
  const path = join(
    tmpdir(),
    `netmap-nft-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  );
  const fd = openSync(path, "w+", 0o600);
  unlinkSync(path); // the data lives as long as fd is open
  try {
    const child = spawn("nsenter", [`--net=${resolveNetnsPath(netns)}`, "--", ...argv], {
      stdio: ["ignore", fd, "pipe"],
      env: toolEnv(),
      timeout: opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (d: string) => {
      if (stderr.length < 4000) stderr += d;
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) =>
        signal ? reject(new Error(`\`${argv.join(" ")}\` killed by ${signal}`)) : resolve(code ?? 1),
      );
    });
    return { exitCode, stderr, fd };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** A ruleset decoded lazily from a file, and how to free that file once the trace is done. */
export interface FileBackedNft {
  ruleset: LazyNftRuleset;
  /** Closes the file; chains not decoded by then can no longer be read. */
  release(): void;
}

/**
 * `nft -j list table <family> <name>` in `netns`, parsed lazily from a file. The file stays open
 * until `release()` (chains are decoded from it while tracing); it has no name on disk.
 */
export async function listNftTableLazily(
  netns: string,
  family: string,
  table: string,
  opts?: NetnsExecOptions,
): Promise<FileBackedNft> {
  const argv = ["nft", "-j", "list", "table", family, table];
  const r = await netnsExecToFile(netns, argv, opts);
  if (r.exitCode !== 0) {
    closeSync(r.fd);
    throw new Error(`${argv.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
  const text = new FileText(r.fd, fstatSync(r.fd).size);
  let index: NftElementIndex;
  try {
    index = indexNftFile(r.fd, text.length);
  } catch (err) {
    text.close();
    throw scanError(err, text);
  }
  return { ruleset: parseNftIndexed(text, index, { decodeAllBelow: 0 }), release: () => text.close() };
}

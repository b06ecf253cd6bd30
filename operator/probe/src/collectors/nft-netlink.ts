/**
 * A netlink conversation with nf_tables inside one netns: the probe asks the kernel for one chain's
 * rules or one set at a time (NFT_MSG_GETRULE filtered by table and chain, NFT_MSG_GETSET,
 * NFT_MSG_GETSETELEM), which takes milliseconds where `nft list chain` takes seconds on a
 * 10k-Service kube-proxy table (nft fetches every set of the table first, see collect-for-trace.ts).
 *
 * Node cannot open an AF_NETLINK socket, so `socat` carries the datagrams: it opens
 * `socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)` inside the netns (through nsenter), sends each
 * request written to its stdin as one datagram to the kernel, and copies every reply datagram to
 * its stdout. Requests and replies are encoded and decoded in core (parsers/nftables/netlink), so
 * this module only moves bytes: one request at a time, each bounded in time.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { encodeNftQuery, type NetlinkMessage, NetlinkReplyReader, type NftNetlinkQuery } from "@netmap/core";
import { existingNetns } from "./netns-exec.js";
import { toolEnv } from "./tool-env.js";

/** socat's generic socket address for the kernel's nf_tables netlink: AF_NETLINK (16), SOCK_RAW
 * (3), NETLINK_NETFILTER (12), sockaddr_nl after the family: pad, pid 0 (the kernel), groups 0. */
export const SOCAT_NFNETLINK = "SOCKET-DATAGRAM:16:3:12:x00000000000000000000";

/** Bounds of one session. */
export const NETLINK_LIMITS = {
  /** One request's reply, from write to NLMSG_DONE/ack. */
  queryTimeoutMs: 10_000,
  /** socat's read buffer: larger than any netlink dump datagram (the kernel sends at most 32 KiB). */
  datagramBytes: 65_536,
  /** Bytes of replies one request may return (a 10k-element map is about 1 MB). */
  maxReplyBytes: 64 * 1024 * 1024,
};

/** A reply: the messages of the request's sequence number, or the kernel's errno. */
export interface NetlinkReply {
  messages: NetlinkMessage[];
  /** Positive errno of an NLMSG_ERROR (2, ENOENT: no such chain or set). */
  errno?: number;
}

/** The session ended or could not start; `toolMissing` when socat is not installed in the netns. */
export class NetlinkSessionError extends Error {
  constructor(
    message: string,
    readonly toolMissing: boolean,
  ) {
    super(message);
    this.name = "NetlinkSessionError";
  }
}

interface Pending {
  reader: NetlinkReplyReader;
  bytes: number;
  resolve: (r: NetlinkReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One socat process per netns; queries run one after another (netlink dumps are not interleaved). */
export class NftNetlinkSession {
  private seq = 0;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stderr = "";
  private ended: NetlinkSessionError | undefined;
  /** Requests sent. */
  queries = 0;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly netnsPath: string,
  ) {
    child.stdout.on("data", (chunk: Buffer) => this.onData(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += chunk.toString("utf8");
    });
    child.on("error", (err) => this.end(new NetlinkSessionError(`socat: ${err.message}`, false)));
    child.on("close", (code) => {
      const why = this.stderr.trim();
      const missing = code === 127 || /failed to execute/.test(why);
      this.end(
        new NetlinkSessionError(
          missing
            ? `socat is not installed in ${netnsPath}'s mount namespace`
            : `socat exited (code ${code ?? "signal"})${why ? `: ${why}` : ""}`,
          missing,
        ),
      );
    });
    child.stdin.on("error", () => undefined); // reported through "close"
  }

  /**
   * Starts socat inside `netns` (a path, or a name under /var/run/netns). `socat` names the binary
   * (default: `socat` on PATH); a missing one shows as a NetlinkSessionError with toolMissing.
   */
  static async open(netns: string, socat = "socat"): Promise<NftNetlinkSession> {
    const path = await existingNetns(netns, [socat, SOCAT_NFNETLINK]);
    const child = spawn(
      "nsenter",
      [`--net=${path}`, "--", socat, "-b", String(NETLINK_LIMITS.datagramBytes), "-", SOCAT_NFNETLINK],
      { stdio: ["pipe", "pipe", "pipe"], env: toolEnv() },
    );
    return new NftNetlinkSession(child, path);
  }

  /** Sends `q` and resolves with its reply once the kernel has said NLMSG_DONE (or acked/failed). */
  query(q: NftNetlinkQuery): Promise<NetlinkReply> {
    const run = this.queue.then(() => this.send(q));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private send(q: NftNetlinkQuery): Promise<NetlinkReply> {
    if (this.ended) return Promise.reject(this.ended);
    this.seq = (this.seq % 0x7fffffff) + 1;
    const seq = this.seq;
    this.queries++;
    return new Promise<NetlinkReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        const err = new NetlinkSessionError(
          `no netlink reply to ${describeNftQuery(q)} within ${NETLINK_LIMITS.queryTimeoutMs} ms`,
          false,
        );
        reject(err);
        this.close();
      }, NETLINK_LIMITS.queryTimeoutMs);
      this.pending = { reader: new NetlinkReplyReader(seq), bytes: 0, resolve, reject, timer };
      this.child.stdin.write(encodeNftQuery(q, seq));
    });
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (!p) return; // a late datagram of a request that timed out
    p.bytes += chunk.length;
    try {
      if (p.bytes > NETLINK_LIMITS.maxReplyBytes)
        throw new NetlinkSessionError(
          `a netlink reply exceeded ${NETLINK_LIMITS.maxReplyBytes} bytes`,
          false,
        );
      p.reader.push(chunk);
    } catch (err) {
      this.settle();
      p.reject(err instanceof Error ? err : new Error(String(err)));
      this.close();
      return;
    }
    if (!p.reader.done) return;
    this.settle();
    const { messages, errno } = p.reader;
    p.resolve(errno === undefined ? { messages } : { messages, errno });
  }

  private settle(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  private end(err: NetlinkSessionError): void {
    if (this.ended) return;
    this.ended = err;
    const p = this.pending;
    this.settle();
    p?.reject(err);
  }

  /** Ends socat (its socket closes with it). Safe to call more than once. */
  close(): void {
    if (!this.child.killed && this.child.exitCode === null) {
      this.child.stdin.end();
      this.child.kill("SIGKILL");
    }
  }
}

/** What a query asks for, in words: `chain services (ip kube-proxy)`. */
export function describeNftQuery(q: NftNetlinkQuery): string {
  switch (q.kind) {
    case "table":
      return `table ${q.family} ${q.table}`;
    case "rules":
      return `chain ${q.chain} (${q.family} ${q.table})`;
    case "set":
      return `set ${q.set} (${q.family} ${q.table})`;
    case "elements":
      return `elements of ${q.set} (${q.family} ${q.table})`;
  }
}

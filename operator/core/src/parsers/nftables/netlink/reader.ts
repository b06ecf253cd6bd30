/** Incremental reader of a netlink reply stream (datagrams concatenated, split anywhere). */
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_MIN_TYPE } from "./constants.js";
import { NftNetlinkError } from "./errors.js";

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  /** bytes after the 16-byte nlmsghdr */
  payload: Uint8Array;
}

/** No nf_tables message comes near this (a rule or set element is a few KiB at most). */
const MAX_MESSAGE = 16 << 20;

/**
 * Incremental reader of a reply stream (socat stdout: datagrams concatenated; chunks may split
 * messages anywhere). Keeps only messages whose seq equals `seq`; ignores others (e.g. a late ack of
 * an earlier request). done: after NLMSG_DONE, or after NLMSG_ERROR (error 0 = ack, which for a
 * non-dump GET ends the reply; for a dump an ack may follow DONE: ignore it). errno: positive errno of
 * a NLMSG_ERROR with error != 0 (ENOENT=2 means "no such chain/set"), or of a dump's NLMSG_DONE
 * carrying one. Note (measured, kernel 6.18): a GETRULE dump filtered on a table or chain that does
 * not exist is an empty dump, not ENOENT; GETTABLE, GETSET and GETSETELEM do answer ENOENT. Throws
 * NftNetlinkError on a malformed stream (length < 16 or beyond a sane bound).
 */
export class NetlinkReplyReader {
  readonly messages: NetlinkMessage[] = [];
  private isDone = false;
  private error: number | undefined;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(private readonly seq: number) {}

  get done(): boolean {
    return this.isDone;
  }

  get errno(): number | undefined {
    return this.error;
  }

  push(chunk: Uint8Array): void {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    let off = 0;
    while (buf.length - off >= NLMSG_HDRLEN) {
      const v = new DataView(buf.buffer, buf.byteOffset + off, NLMSG_HDRLEN);
      const len = v.getUint32(0, true);
      if (len < NLMSG_HDRLEN || len > MAX_MESSAGE) {
        throw new NftNetlinkError(`netlink message at byte ${off} has bad length ${len}`);
      }
      if (buf.length - off < len) break;
      const message: NetlinkMessage = {
        type: v.getUint16(4, true),
        flags: v.getUint16(6, true),
        seq: v.getUint32(8, true),
        // A copy: the caller's chunk buffers may be reused.
        payload: buf.slice(off + NLMSG_HDRLEN, off + len),
      };
      // Netlink aligns messages to 4 bytes within a datagram.
      off += Math.min((len + 3) & ~3, buf.length - off);
      this.accept(message);
    }
    this.pending = buf.slice(off);
  }

  private accept(m: NetlinkMessage): void {
    if (this.isDone || m.seq !== this.seq) return;
    if (m.type === NLMSG_DONE) {
      // A dump that fails after it started reports the error in DONE's payload (negative errno).
      this.isDone = true;
      if (m.payload.length >= 4) {
        const err = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, true);
        if (err < 0) this.error = -err;
      }
      return;
    }
    if (m.type === NLMSG_ERROR) {
      if (m.payload.length < 4) throw new NftNetlinkError("truncated NLMSG_ERROR");
      const err = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, true);
      this.isDone = true;
      if (err !== 0) this.error = -err;
      return;
    }
    if (m.type < NLMSG_MIN_TYPE) return; // NOOP, OVERRUN
    this.messages.push(m);
  }
}

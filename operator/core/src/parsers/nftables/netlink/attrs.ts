/**
 * Netlink attributes (struct nlattr TLVs) and the byte helpers the decoder shares. Netlink headers and
 * nft's "host byte order" values are little-endian here: the decoder targets x86-64 and arm64 nodes.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK } from "./constants.js";
import { NftNetlinkError, NftNetlinkUnsupported } from "./errors.js";

/** One attribute: its type without the NLA_F_* flags, and its payload. */
export interface Attr {
  type: number;
  data: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Splits `bytes` into attributes; throws NftNetlinkError on a truncated or bad length. */
export function parseAttrs(bytes: Uint8Array, where: string): Attr[] {
  const out: Attr[] = [];
  const v = view(bytes);
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < NLA_HDRLEN) throw new NftNetlinkError(`${where}: truncated attribute header`);
    const len = v.getUint16(off, true);
    const type = v.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > bytes.length) {
      throw new NftNetlinkError(`${where}: attribute ${type} has bad length ${len}`);
    }
    out.push({ type, data: bytes.subarray(off + NLA_HDRLEN, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

/**
 * The attributes of one object, by type, with strict accessors. `known` lists the types the caller
 * understands: any other present attribute makes the object unsupported (never silently ignored).
 */
export class Attrs {
  private readonly byType = new Map<number, Uint8Array>();

  constructor(
    bytes: Uint8Array,
    private readonly where: string,
    known: readonly number[],
    ignored: readonly number[] = [],
  ) {
    for (const a of parseAttrs(bytes, where)) {
      if (ignored.includes(a.type)) continue;
      if (!known.includes(a.type)) throw new NftNetlinkUnsupported(`${where}: attribute ${a.type}`);
      this.byType.set(a.type, a.data);
    }
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }

  bytes(type: number): Uint8Array | undefined {
    return this.byType.get(type);
  }

  need(type: number): Uint8Array {
    const b = this.byType.get(type);
    if (!b) throw new NftNetlinkError(`${this.where}: missing attribute ${type}`);
    return b;
  }

  /** A big-endian u32 (nf_tables puts its integers in network byte order). */
  u32(type: number): number | undefined {
    const b = this.byType.get(type);
    if (!b) return undefined;
    if (b.length !== 4) throw new NftNetlinkError(`${this.where}: attribute ${type} is not a u32`);
    return view(b).getUint32(0, false);
  }

  needU32(type: number): number {
    const v = this.u32(type);
    if (v === undefined) throw new NftNetlinkError(`${this.where}: missing attribute ${type}`);
    return v;
  }

  /** A big-endian u64 as a number (handles, timeouts, counters; exact below 2^53). */
  u64(type: number): number | undefined {
    const b = this.byType.get(type);
    if (!b) return undefined;
    if (b.length !== 8) throw new NftNetlinkError(`${this.where}: attribute ${type} is not a u64`);
    const n = view(b).getBigUint64(0, false);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new NftNetlinkUnsupported(`${this.where}: attribute ${type} exceeds 2^53`);
    }
    return Number(n);
  }

  /** A NUL-terminated string. */
  str(type: number): string | undefined {
    const b = this.byType.get(type);
    return b === undefined ? undefined : cString(b);
  }

  needStr(type: number): string {
    const s = this.str(type);
    if (s === undefined) throw new NftNetlinkError(`${this.where}: missing attribute ${type}`);
    return s;
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes up to the first NUL (or all of them), as UTF-8. */
export function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  const body = nul >= 0 ? b.subarray(0, nul) : b;
  try {
    return UTF8.decode(body);
  } catch {
    throw new NftNetlinkUnsupported("string attribute is not UTF-8");
  }
}

/** Big-endian unsigned value of `b` (any length). */
export function bigBE(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** Little-endian unsigned value of `b` (any length). */
export function bigLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number);
  return n;
}

/** `n` as `len` big-endian bytes. */
export function bytesBE(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A little-endian (host order) u32 at `off` of `b`. */
export function u32LE(b: Uint8Array, off = 0): number {
  return view(b).getUint32(off, true);
}

/** A little-endian (host order) s32 at `off` of `b`. */
export function s32LE(b: Uint8Array, off = 0): number {
  return view(b).getInt32(off, true);
}

/** User data TLVs (libnftnl nftnl_udata: u8 type, u8 len, value), by type. */
export function parseUdata(b: Uint8Array, where: string): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 2) throw new NftNetlinkError(`${where}: truncated user data`);
    const type = b[off] as number;
    const len = b[off + 1] as number;
    if (off + 2 + len > b.length) throw new NftNetlinkError(`${where}: user data item ${type} overruns`);
    out.set(type, b.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}

/** A user data string: must end in NUL, as nft checks. */
export function udataString(b: Uint8Array, where: string): string {
  if (b.length === 0 || b[b.length - 1] !== 0)
    throw new NftNetlinkUnsupported(`${where}: comment not NUL-terminated`);
  return cString(b);
}

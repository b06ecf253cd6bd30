/** Hand-built netlink messages for the decoder's focused tests (malformed or unknown input). */
import type { NetlinkMessage } from "../reader.js";

export function str(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

export function be64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

/** One netlink attribute (host-order header, payload padded to 4 bytes). */
export function attr(type: number, ...payload: Uint8Array[]): Uint8Array {
  const len = 4 + payload.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array((len + 3) & ~3);
  const v = new DataView(out.buffer);
  v.setUint16(0, len, true);
  v.setUint16(2, type, true);
  let off = 4;
  for (const p of payload) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function nestedList(items: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(items.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of items) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A NEWRULE message of family ip: table, chain, handle and the given NFTA_LIST_ELEM expressions. */
export function newRule(
  family: "ip",
  table: string,
  chain: string,
  handle: number,
  expressions: Uint8Array[],
): NetlinkMessage {
  void family;
  const body = nestedList([
    Uint8Array.of(2, 0, 0, 0),
    attr(1, str(table)),
    attr(2, str(chain)),
    attr(3, be64(handle)),
    attr(4, nestedList(expressions)),
  ]);
  return { type: (10 << 8) | 6, flags: 2, seq: 1, payload: body };
}

/** A whole netlink message (16-byte header + payload), as the kernel writes it. */
export function message(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  out.set(payload, 16);
  return out;
}

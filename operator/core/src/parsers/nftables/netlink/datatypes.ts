/**
 * nft's datatypes (include/datatype.h) as far as the decoder prints them, and their JSON form as
 * `nft -j` (nft 1.0.6) prints values of that type. A value the decoder cannot print exactly as nft
 * would (an unknown type, a protocol number /etc/protocols may or may not name) is unsupported.
 */
import type { Json } from "../../../model/json.js";
import { bigBE, bigLE } from "./attrs.js";
import { NftNetlinkUnsupported } from "./errors.js";

export type ByteOrder = "big" | "host";

export interface Datatype {
  id: number;
  name: string;
  /** Size in bytes; 0 when variable (integer, verdict: the length comes from the set or expression). */
  size: number;
  byteorder: ByteOrder;
  /** Values may print as prefixes (DTYPE_F_PREFIX). */
  prefix: boolean;
}

export const TYPE_VERDICT = 1;
export const TYPE_INTEGER = 4;
export const TYPE_IPADDR = 7;
export const TYPE_IP6ADDR = 8;
export const TYPE_ETHERADDR = 9;
export const TYPE_INET_PROTOCOL = 12;
export const TYPE_INET_SERVICE = 13;
export const TYPE_MARK = 19;

/** Bits per component of a concatenation's type id (TYPE_BITS). */
const TYPE_BITS = 6;
const TYPE_MASK = (1 << TYPE_BITS) - 1;

const TYPES: readonly Datatype[] = [
  { id: TYPE_VERDICT, name: "verdict", size: 0, byteorder: "big", prefix: false },
  { id: TYPE_INTEGER, name: "integer", size: 0, byteorder: "host", prefix: false },
  { id: TYPE_IPADDR, name: "ipv4_addr", size: 4, byteorder: "big", prefix: true },
  { id: TYPE_IP6ADDR, name: "ipv6_addr", size: 16, byteorder: "big", prefix: true },
  { id: TYPE_ETHERADDR, name: "ether_addr", size: 6, byteorder: "big", prefix: false },
  { id: TYPE_INET_PROTOCOL, name: "inet_proto", size: 1, byteorder: "big", prefix: false },
  { id: TYPE_INET_SERVICE, name: "inet_service", size: 2, byteorder: "big", prefix: false },
  { id: TYPE_MARK, name: "mark", size: 4, byteorder: "host", prefix: false },
];

export function datatype(id: number): Datatype {
  const t = TYPES.find((d) => d.id === id);
  if (!t) throw new NftNetlinkUnsupported(`datatype ${id}`);
  return t;
}

/** The component types of a set key/data type id: one for a plain type, several for a concatenation. */
export function typeComponents(id: number): Datatype[] {
  if (id <= TYPE_MASK) return [datatype(id)];
  const ids: number[] = [];
  for (let rest = id; rest > 0; rest = Math.floor(rest / (1 << TYPE_BITS))) ids.unshift(rest & TYPE_MASK);
  return ids.map((c) => {
    const t = datatype(c);
    if (t.size === 0) throw new NftNetlinkUnsupported(`concatenation of variable-size type ${t.name}`);
    return t;
  });
}

/** Protocol names getprotobynumber gives from any /etc/protocols (netbase); others are unsupported. */
const PROTOCOLS = new Map<number, string>([
  [1, "icmp"],
  [6, "tcp"],
  [17, "udp"],
  [58, "ipv6-icmp"],
  [132, "sctp"],
]);

export function protocolName(n: number): string {
  const name = PROTOCOLS.get(n);
  if (name === undefined)
    throw new NftNetlinkUnsupported(`protocol ${n} (its name depends on /etc/protocols)`);
  return name;
}

export function ipv4(b: Uint8Array): string {
  return Array.from(b).join(".");
}

/** An IPv6 address as glibc's inet_ntop prints it (what nft uses). */
export function ipv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((b[i] as number) << 8) | (b[i + 1] as number));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else cur = { base: -1, len: 0 };
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      out += ipv4(b.subarray(12, 16));
      break;
    }
    out += (w[i] as number).toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ":";
  return out;
}

/** The numeric value nft holds for `b` of a type in `order` (mpz after import/byteorder switch). */
export function numeric(b: Uint8Array, order: ByteOrder): bigint {
  return order === "big" ? bigBE(b) : bigLE(b);
}

/** A value of type `t` (its bytes as the kernel holds them) in nft's JSON form. */
export function valueJson(t: Datatype, b: Uint8Array, order: ByteOrder = t.byteorder): Json {
  if (t.size !== 0 && b.length !== t.size) {
    throw new NftNetlinkUnsupported(`${t.name} value of ${b.length} bytes`);
  }
  switch (t.id) {
    case TYPE_IPADDR:
      return ipv4(b);
    case TYPE_IP6ADDR:
      return ipv6(b);
    case TYPE_ETHERADDR:
      return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
    case TYPE_INET_PROTOCOL:
      return protocolName(b[0] as number);
    case TYPE_INET_SERVICE:
    case TYPE_MARK:
    case TYPE_INTEGER: {
      // mark: no /etc/iproute2/rt_marks name is assumed; integers beyond 2^53 print as hex strings.
      const n = numeric(b, order);
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new NftNetlinkUnsupported(`${t.name} value beyond 2^53`);
      return Number(n);
    }
    default:
      throw new NftNetlinkUnsupported(`value of type ${t.name}`);
  }
}

/**
 * What nft knows about the expressions kube-proxy and flannel load into registers (payload fields,
 * meta/ct/fib keys) and the symbol tables it prints their values with (nft 1.0.6: proto.c, meta.c,
 * ct.c, fib.c, datatype.c). Anything absent here is NftNetlinkUnsupported.
 */
import type { Json } from "../../../model/json.js";
import { u32LE } from "./attrs.js";
import {
  type ByteOrder,
  datatype,
  TYPE_INET_PROTOCOL,
  TYPE_INET_SERVICE,
  TYPE_IP6ADDR,
  TYPE_IPADDR,
  TYPE_MARK,
  valueJson,
} from "./datatypes.js";
import { NftNetlinkUnsupported } from "./errors.js";

/** How a loaded value prints: a datatype, a symbol table, a bitmask of symbols or an interface name. */
export type ValueKind =
  | { kind: "type"; type: number }
  | { kind: "symbol"; table: ReadonlyMap<number, string> }
  | { kind: "bitmask"; table: ReadonlyMap<number, string> }
  | { kind: "ifname" };

export interface Field {
  protocol: string;
  field: string;
  offset: number;
  len: number;
  value: ValueKind;
}

const ADDR4: ValueKind = { kind: "type", type: TYPE_IPADDR };
const ADDR6: ValueKind = { kind: "type", type: TYPE_IP6ADDR };
const PROTO: ValueKind = { kind: "type", type: TYPE_INET_PROTOCOL };
const PORT: ValueKind = { kind: "type", type: TYPE_INET_SERVICE };

/** Network header fields by family. */
export const NETWORK_FIELDS: Readonly<Record<string, readonly Field[]>> = {
  ip: [
    { protocol: "ip", field: "protocol", offset: 9, len: 1, value: PROTO },
    { protocol: "ip", field: "saddr", offset: 12, len: 4, value: ADDR4 },
    { protocol: "ip", field: "daddr", offset: 16, len: 4, value: ADDR4 },
  ],
  ip6: [
    { protocol: "ip6", field: "nexthdr", offset: 6, len: 1, value: PROTO },
    { protocol: "ip6", field: "saddr", offset: 8, len: 16, value: ADDR6 },
    { protocol: "ip6", field: "daddr", offset: 24, len: 16, value: ADDR6 },
  ],
};

/** Transport header fields every transport protocol nft names shares (and "th"). */
export const TRANSPORT_FIELDS: readonly Omit<Field, "protocol">[] = [
  { field: "sport", offset: 0, len: 2, value: PORT },
  { field: "dport", offset: 2, len: 2, value: PORT },
];

/** Protocols whose ports nft names (`tcp dport`) once `meta l4proto` is known. */
export const PORT_PROTOCOLS = new Map<number, string>([
  [6, "tcp"],
  [17, "udp"],
  [132, "sctp"],
]);

export const META_L4PROTO = 16;
export const META_MARK = 3;

/** meta keys: name, value length and how the value prints. */
export const META_KEYS = new Map<number, { name: string; len: number; value: ValueKind }>([
  [META_MARK, { name: "mark", len: 4, value: { kind: "type", type: TYPE_MARK } }],
  [6, { name: "iifname", len: 16, value: { kind: "ifname" } }],
  [7, { name: "oifname", len: 16, value: { kind: "ifname" } }],
  [META_L4PROTO, { name: "l4proto", len: 1, value: PROTO }],
]);

const CT_STATE = new Map<number, string>([
  [1, "invalid"],
  [2, "established"],
  [4, "related"],
  [8, "new"],
  [64, "untracked"],
]);

const CT_STATUS = new Map<number, string>([
  [1, "expected"],
  [2, "seen-reply"],
  [4, "assured"],
  [8, "confirmed"],
  [16, "snat"],
  [32, "dnat"],
  [512, "dying"],
]);

/** ct keys (no direction): name, value length and how the value prints. */
export const CT_KEYS = new Map<number, { name: string; len: number; value: ValueKind }>([
  [0, { name: "state", len: 4, value: { kind: "bitmask", table: CT_STATE } }],
  [2, { name: "status", len: 4, value: { kind: "bitmask", table: CT_STATUS } }],
  [3, { name: "mark", len: 4, value: { kind: "type", type: TYPE_MARK } }],
]);

/** fib_addrtype (RTN_*). */
const FIB_ADDRTYPE = new Map<number, string>([
  [0, "unspec"],
  [1, "unicast"],
  [2, "local"],
  [3, "broadcast"],
  [4, "anycast"],
  [5, "multicast"],
  [6, "blackhole"],
  [7, "unreachable"],
  [8, "prohibit"],
]);
export const FIB_RESULT_ADDRTYPE = 3;
export const FIB_TYPE_VALUE: ValueKind = { kind: "symbol", table: FIB_ADDRTYPE };
/** NFTA_FIB_F_* in the order nft prints them. */
export const FIB_FLAGS = ["saddr", "daddr", "mark", "iif", "oif"] as const;

/** icmp_code, icmpv6_code and icmpx_code symbol tables (reject). */
export const ICMP_CODES = new Map<number, string>([
  [0, "net-unreachable"],
  [1, "host-unreachable"],
  [2, "prot-unreachable"],
  [3, "port-unreachable"],
  [4, "frag-needed"],
  [9, "net-prohibited"],
  [10, "host-prohibited"],
  [13, "admin-prohibited"],
]);
export const ICMPV6_CODES = new Map<number, string>([
  [0, "no-route"],
  [1, "admin-prohibited"],
  [3, "addr-unreachable"],
  [4, "port-unreachable"],
  [5, "policy-fail"],
  [6, "reject-route"],
]);
export const ICMPX_CODES = new Map<number, string>([
  [0, "no-route"],
  [1, "port-unreachable"],
  [2, "host-unreachable"],
  [3, "admin-prohibited"],
]);

/** A value of `kind` (its bytes as loaded) in nft's JSON form. */
export function kindJson(kind: ValueKind, b: Uint8Array, order?: ByteOrder): Json {
  switch (kind.kind) {
    case "type":
      return valueJson(datatype(kind.type), b, order);
    case "symbol": {
      if (b.length !== 4) throw new NftNetlinkUnsupported(`symbolic value of ${b.length} bytes`);
      const name = kind.table.get(u32LE(b));
      if (name === undefined) throw new NftNetlinkUnsupported(`symbol ${u32LE(b)}`);
      return name;
    }
    case "bitmask": {
      if (b.length !== 4) throw new NftNetlinkUnsupported(`bitmask of ${b.length} bytes`);
      let rest = u32LE(b);
      const names: string[] = [];
      for (const [bit, name] of kind.table) {
        if (rest & bit) names.push(name);
        rest &= ~bit;
      }
      if (rest !== 0 || names.length === 0) throw new NftNetlinkUnsupported(`bitmask value ${u32LE(b)}`);
      return names.length === 1 ? (names[0] as string) : names;
    }
    case "ifname": {
      // A full name is compared with its NUL; a wildcard `veth*` compares the prefix only.
      const nul = b.indexOf(0);
      const text = new TextDecoder().decode(nul >= 0 ? b.subarray(0, nul) : b);
      if (nul >= 0 && b.subarray(nul).some((x) => x !== 0)) throw new NftNetlinkUnsupported("interface name");
      if (!/^[\x21-\x7e]+$/.test(text) || text.includes('"') || text.includes("*")) {
        throw new NftNetlinkUnsupported("interface name with special characters");
      }
      return nul >= 0 ? text : `${text}*`;
    }
  }
}

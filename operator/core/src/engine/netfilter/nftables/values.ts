/**
 * What nft expressions read from a packet (payload, meta, ct, fib), and how those values are
 * compared with the right-hand sides nft writes (literals, prefixes, ranges, anonymous sets, named
 * set references, concatenations). Pure; no kernel access.
 */
import type { Json } from "../../../model/json.js";
import type { NftTable } from "../../../model/nftables.js";
import type { Packet } from "../../../model/trace.js";
import {
  isObject,
  numberAt,
  objectAt,
  soleKey,
  stringAt,
  stringsAt,
} from "../../../parsers/nftables/narrow.js";
import type { NetfilterContext } from "../types.js";

/** A value read from the packet: an address/name, a number, or a concatenation of them. */
export type Value = string | number | Value[];

/** Something the evaluator cannot decide; the rule is treated as not matching and this is reported. */
export interface Unknown {
  unknown: string;
}

/** The value, `undefined` when the field does not exist for this packet (e.g. tcp dport of a udp packet). */
export type ReadResult = Value | undefined | Unknown;

/** True for an Unknown result. */
export function isUnknown(v: unknown): v is Unknown {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "unknown" in v;
}

/** The packet and the netfilter state an expression is evaluated against. */
export interface EvalState {
  packet: Packet;
  ctx: NetfilterContext;
  mark: number;
  table: NftTable;
}

const PROTO_NUMBERS: Readonly<Record<number, string>> = { 1: "icmp", 6: "tcp", 17: "udp" };

/** Reads what `expr` (a left-hand side) denotes for the packet. */
export function readExpr(expr: Json | undefined, st: EvalState): ReadResult {
  if (typeof expr === "string" || typeof expr === "number") return expr;
  if (!isObject(expr)) return { unknown: `expression ${JSON.stringify(expr)}` };
  const key = soleKey(expr);
  const body = expr[key ?? ""];
  if (key === "concat" && Array.isArray(body)) {
    const parts: Value[] = [];
    for (const part of body) {
      const v = readExpr(part, st);
      if (v === undefined || isUnknown(v)) return v;
      parts.push(v);
    }
    return parts;
  }
  if (key === "&" || key === "|" || key === "^") return readBinop(key, body, st);
  if (!isObject(body)) return { unknown: `expression ${JSON.stringify(expr)}` };
  switch (key) {
    case "payload":
      return readPayload(stringAt(body, "protocol"), stringAt(body, "field"), st.packet);
    case "meta":
      return readMeta(stringAt(body, "key"), st);
    case "ct":
      return readCt(body.dir !== undefined ? "directional" : stringAt(body, "key"), st);
    case "fib":
      return readFib(stringAt(body, "result"), stringsAt(body, "flags"), st);
    default:
      return { unknown: `${key ?? "?"} expression` };
  }
}

function readBinop(op: "&" | "|" | "^", body: Json | undefined, st: EvalState): ReadResult {
  if (!Array.isArray(body) || body.length !== 2) return { unknown: `binop ${op}` };
  const a = readExpr(body[0], st);
  const b = readExpr(body[1], st);
  if (isUnknown(a) || a === undefined) return a;
  if (isUnknown(b) || b === undefined) return b;
  if (typeof a !== "number" || typeof b !== "number") return { unknown: `binop ${op} on non-numbers` };
  const r = op === "&" ? a & b : op === "|" ? a | b : a ^ b;
  return r >>> 0;
}

function readPayload(protocol: string | undefined, field: string | undefined, p: Packet): ReadResult {
  if (protocol === "ip") {
    if (field === "saddr") return p.src;
    if (field === "daddr") return p.dst;
    if (field === "protocol") return p.protocol;
    return { unknown: `ip ${field ?? "?"}` };
  }
  if (protocol === "ip6") return undefined; // an IPv4 packet has no IPv6 header
  if (protocol === "th" || protocol === "tcp" || protocol === "udp") {
    if (protocol !== "th" && p.protocol !== protocol) return undefined;
    if (p.protocol !== "tcp" && p.protocol !== "udp") return undefined;
    if (field === "dport") return p.dport;
    if (field === "sport") return p.sport;
    return { unknown: `${protocol} ${field ?? "?"}` };
  }
  return { unknown: `payload ${protocol ?? "raw"} ${field ?? ""}`.trimEnd() };
}

function readMeta(key: string | undefined, st: EvalState): ReadResult {
  const { ctx } = st;
  switch (key) {
    case "l4proto":
      return st.packet.protocol;
    case "nfproto":
      return "ipv4";
    case "mark":
      return st.mark >>> 0;
    case "iifname":
    case "iif":
      // Locally generated packets (output, and postrouting for them) have no input device.
      if (ctx.inDev !== undefined) return ctx.inDev;
      return ctx.hook === "output" ? "" : { unknown: `meta ${key}: input device not known` };
    case "oifname":
    case "oif":
      if (ctx.outDev !== undefined) return ctx.outDev;
      return ctx.hook === "prerouting" || ctx.hook === "input"
        ? ""
        : { unknown: `meta ${key}: output device not known` };
    default:
      return { unknown: `meta ${key ?? "?"}` };
  }
}

function readCt(key: string | undefined, st: EvalState): ReadResult {
  if (key === "state") return st.ctx.ctState;
  if (key === "status") return st.ctx.ctDnat ? ["dnat"] : [];
  return { unknown: `ct ${key ?? "?"}` };
}

function readFib(result: string | undefined, flags: string[], st: EvalState): ReadResult {
  if (result !== "type" || flags.length !== 1)
    return { unknown: `fib ${flags.join(" . ")} ${result ?? ""}`.trim() };
  const flag = flags[0];
  const addr = flag === "daddr" ? st.packet.dst : flag === "saddr" ? st.packet.src : undefined;
  if (addr === undefined) return { unknown: `fib ${flag ?? "?"} type` };
  if (st.ctx.localAddresses.has(addr)) return "local";
  const n = ipv4ToInt(addr);
  if (n === undefined) return { unknown: `fib ${flag} type of ${addr}` };
  if (n === 0xffffffff) return "broadcast";
  if (n >>> 28 === 0xe) return "multicast";
  return "unicast";
}

/** "10.0.0.1" → 167772161; undefined when not a dotted quad. */
export function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

function normalize(v: string | number): string | number {
  if (typeof v === "number") return v;
  const ip = ipv4ToInt(v);
  return ip !== undefined ? `ip:${ip}` : v;
}

function scalarEquals(v: string | number, pattern: string | number): boolean {
  if (typeof v === "string" && typeof pattern === "number") return PROTO_NUMBERS[pattern] === v;
  if (typeof pattern === "string" && pattern.endsWith("*") && typeof v === "string") {
    return v.startsWith(pattern.slice(0, -1)); // interface wildcard "veth*"
  }
  return normalize(v) === normalize(pattern);
}

function toOrdinal(v: Json | Value | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string") return ipv4ToInt(v);
  return undefined;
}

/**
 * Does `v` match the pattern `p` (a literal, prefix, range, anonymous set, concat, `@set`, or a
 * list of flags)? Unknown when the pattern is of a kind the evaluator does not know.
 */
export function matchesPattern(v: Value, p: Json | undefined, table: NftTable): boolean | Unknown {
  if (typeof p === "string" && p.startsWith("@")) return inNamedSet(v, p.slice(1), table);
  if (Array.isArray(v)) {
    if (isObject(p) && Array.isArray(p.concat)) return matchesConcat(v, p.concat, table);
    if (Array.isArray(p)) return v.some((flag) => p.some((q) => matchesPattern(flag, q, table) === true));
    if (typeof p === "string") return v.some((flag) => flag === p); // a flag set such as ct status
    return { unknown: `pattern ${JSON.stringify(p)} for a concatenation` };
  }
  if (typeof p === "string" || typeof p === "number") return scalarEquals(v, p);
  if (Array.isArray(p)) return p.some((q) => matchesPattern(v, q, table) === true);
  if (!isObject(p)) return { unknown: `pattern ${JSON.stringify(p)}` };
  const prefix = objectAt(p, "prefix");
  if (prefix) {
    const base = toOrdinal(prefix.addr);
    const len = numberAt(prefix, "len");
    const n = toOrdinal(v);
    if (base === undefined || len === undefined || n === undefined)
      return { unknown: `prefix ${JSON.stringify(p)}` };
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return (n & mask) >>> 0 === (base & mask) >>> 0;
  }
  const range = p.range;
  if (Array.isArray(range) && range.length === 2) {
    const lo = toOrdinal(range[0]);
    const hi = toOrdinal(range[1]);
    const n = toOrdinal(v);
    if (lo === undefined || hi === undefined || n === undefined)
      return { unknown: `range ${JSON.stringify(p)}` };
    return n >= lo && n <= hi;
  }
  const set = p.set;
  if (Array.isArray(set)) return anyMatch(v, set, table);
  const elem = objectAt(p, "elem");
  if (elem) return matchesPattern(v, elem.val, table);
  return { unknown: `pattern ${JSON.stringify(p)}` };
}

function anyMatch(v: Value, patterns: Json[], table: NftTable): boolean | Unknown {
  let unknown: Unknown | undefined;
  for (const q of patterns) {
    const r = matchesPattern(v, q, table);
    if (r === true) return true;
    if (isUnknown(r)) unknown ??= r;
  }
  return unknown ?? false;
}

function matchesConcat(v: Value[], parts: Json[], table: NftTable): boolean | Unknown {
  if (parts.length !== v.length) return false;
  for (let i = 0; i < parts.length; i++) {
    const r = matchesPattern(v[i] ?? "", parts[i], table);
    if (r !== true) return r;
  }
  return true;
}

function inNamedSet(v: Value, name: string, table: NftTable): boolean | Unknown {
  const set = table.sets.get(name);
  if (!set) return { unknown: `set @${name} not in table ${table.family} ${table.name}` };
  return anyMatch(
    v,
    set.elements.map((e) => e.key),
    table,
  );
}

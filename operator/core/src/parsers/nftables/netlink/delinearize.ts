/**
 * nft's netlink_delinearize.c, for the rule shapes kube-proxy (nftables mode) and flannel write: the
 * kernel's register-level expressions of one rule → the statements `nft -j` prints (libnftables JSON,
 * nft 1.0.6), including nft's naming of payloads by protocol context and its removal of the
 * `meta l4proto` dependency a transport port match implies. Anything else: NftNetlinkUnsupported.
 */
import type { Json, JsonObject } from "../../../model/json.js";
import type { NftFamily, NftSet } from "../../../model/nftables.js";
import { TYPE_INTEGER } from "./datatypes.js";
import { NftNetlinkUnsupported } from "./errors.js";
import type { LowExpr, Reg } from "./exprs.js";
import { elementJson } from "./sets.js";
import {
  CT_KEYS,
  FIB_FLAGS,
  FIB_RESULT_ADDRTYPE,
  FIB_TYPE_VALUE,
  type Field,
  ICMP_CODES,
  ICMPV6_CODES,
  ICMPX_CODES,
  kindJson,
  META_KEYS,
  META_L4PROTO,
  META_MARK,
  NETWORK_FIELDS,
  PORT_PROTOCOLS,
  TRANSPORT_FIELDS,
  type ValueKind,
} from "./templates.js";
import { verdictJson } from "./verdict.js";

/** A value in a register, as nft rebuilds it. */
type HExpr =
  | { t: "payload"; base: number; offset: number; len: number }
  | { t: "meta"; key: number }
  | { t: "ct"; key: number }
  | { t: "fib"; flags: number }
  | { t: "numgen"; mode: string; mod: number; offset: number }
  | { t: "binop"; op: "&" | "|" | "^"; left: HExpr; right: Uint8Array }
  | { t: "concat"; parts: HExpr[] }
  | { t: "value"; bytes: Uint8Array };

const NETWORK = 1;
const TRANSPORT = 2;
const ANONYMOUS = /^__(set|map)\d+$/;
const NFT_CMP_EQ = 0;
const NFT_CMP_NEQ = 1;
const NF_NAT_RANGE_MAP_IPS = 0x1;
const NF_NAT_RANGE_PROTO_SPECIFIED = 0x2;
/** nat_flags_json order. */
const NAT_FLAGS: readonly [number, string][] = [
  [0x4, "random"],
  [0x10, "fully-random"],
  [0x8, "persistent"],
];
const NFPROTO: Readonly<Record<string, number>> = { ip: 2, ip6: 10 };

function unsupported(what: string): never {
  throw new NftNetlinkUnsupported(what);
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** The length in bytes of the value an expression leaves in its register. */
function lenOf(e: HExpr): number {
  switch (e.t) {
    case "payload":
      return e.len;
    case "meta":
      return META_KEYS.get(e.key)?.len ?? unsupported(`meta key ${e.key}`);
    case "ct":
      return CT_KEYS.get(e.key)?.len ?? unsupported(`ct key ${e.key}`);
    case "fib":
    case "numgen":
      return 4;
    case "binop":
      return lenOf(e.left);
    case "concat":
      return e.parts.reduce((n, p) => n + ((lenOf(p) + 3) & ~3), 0);
    case "value":
      return e.bytes.length;
  }
}

/** Delinearizes one rule's expressions; `anon` resolves anonymous sets the rule's lookups name. */
export class RuleDelinearizer {
  private readonly regs = new Map<Reg, HExpr>();
  /** Statements in order; null where nft dropped a dependency. */
  private readonly out: (JsonObject | null)[] = [];
  /** The transport protocol nft's context knows, and the `meta l4proto` statement still printable. */
  private l4: { proto: number; dep: number | undefined; fromHeader: boolean } | undefined;

  constructor(
    private readonly family: NftFamily,
    private readonly anon: (name: string) => NftSet | undefined,
  ) {
    if (family !== "ip" && family !== "ip6") unsupported(`rules of family ${family}`);
  }

  statements(exprs: readonly LowExpr[]): JsonObject[] {
    for (const x of exprs) this.step(x);
    if (this.regs.size > 0) unsupported("a loaded value no statement uses");
    const stmts = this.out.filter((s): s is JsonObject => s !== null);
    if (stmts.length === 0) unsupported("rule without statements");
    return stmts;
  }

  private load(reg: Reg, e: HExpr): void {
    if (reg === 0) unsupported("value loaded into the verdict register");
    this.regs.set(reg, e);
  }

  private take(reg: Reg): HExpr {
    const e = this.regs.get(reg);
    if (!e) unsupported(`register ${reg} read before it is written`);
    this.regs.delete(reg);
    return e;
  }

  /** A lookup/dynset key: the register and, for a concatenation, the registers loaded after it. */
  /**
   * nft rebuilds a concatenation from the set's key length; the decoder does not know a named set's
   * key here, so it takes the registers loaded after `reg` and not used since: nft consumes every
   * value it loads, so those can only be the key's other components.
   */
  private takeKey(reg: Reg): HExpr {
    const parts: HExpr[] = [];
    let next = reg;
    while (this.regs.has(next)) {
      const e = this.take(next);
      parts.push(e);
      next += ((lenOf(e) + 3) & ~3) / 4;
    }
    if (parts.length === 0) unsupported(`register ${reg} read before it is written`);
    if (this.regs.size > 0) unsupported("a loaded value no statement uses");
    return parts.length === 1 ? (parts[0] as HExpr) : { t: "concat", parts };
  }

  private emit(s: JsonObject): number {
    this.out.push(s);
    return this.out.length - 1;
  }

  /** The network-header field a payload load names exactly. */
  private networkField(e: { offset: number; len: number }): Field | undefined {
    return NETWORK_FIELDS[this.family]?.find((f) => f.offset === e.offset && f.len === e.len);
  }

  /**
   * A payload's JSON. A transport port is named by the `meta l4proto` nft's context knows ("th"
   * otherwise); `kill` says whether nft drops that dependency here (a match or lookup on the port).
   */
  private payloadJson(e: { base: number; offset: number; len: number }, kill: boolean): Json {
    if (e.base === NETWORK) {
      const f = this.networkField(e) ?? unsupported(`${this.family} header bytes ${e.offset}+${e.len}`);
      return { payload: { protocol: f.protocol, field: f.field } };
    }
    if (e.base !== TRANSPORT) unsupported(`payload base ${e.base}`);
    const f = TRANSPORT_FIELDS.find((x) => x.offset === e.offset && x.len === e.len);
    if (!f) unsupported(`transport header bytes ${e.offset}+${e.len}`);
    if (!this.l4) return { payload: { protocol: "th", field: f.field } };
    if (this.l4.fromHeader) unsupported("transport header after ip protocol / ip6 nexthdr");
    const protocol = PORT_PROTOCOLS.get(this.l4.proto) ?? unsupported(`ports of protocol ${this.l4.proto}`);
    if (this.l4.dep !== undefined) {
      if (!kill) unsupported("transport header in a concatenation after meta l4proto");
      this.out[this.l4.dep] = null;
      this.l4.dep = undefined;
    }
    return { payload: { protocol, field: f.field } };
  }

  private exprJson(e: HExpr, kill = false): Json {
    switch (e.t) {
      case "payload":
        return this.payloadJson(e, kill);
      case "meta":
        return { meta: { key: META_KEYS.get(e.key)?.name ?? unsupported(`meta key ${e.key}`) } };
      case "ct":
        return { ct: { key: CT_KEYS.get(e.key)?.name ?? unsupported(`ct key ${e.key}`) } };
      case "fib": {
        const flags: string[] = [];
        FIB_FLAGS.forEach((name, i) => {
          if (e.flags & (1 << i)) flags.push(name);
        });
        if (e.flags >= 1 << FIB_FLAGS.length || flags.length === 0) unsupported(`fib flags ${e.flags}`);
        return { fib: { result: "type", flags } };
      }
      case "numgen":
        return { numgen: { mode: e.mode, mod: e.mod, offset: e.offset } };
      case "binop":
        return { [e.op]: [this.exprJson(e.left), kindJson(this.kindOf(e.left), e.right)] };
      case "concat":
        return { concat: e.parts.map((p) => this.exprJson(p)) };
      case "value":
        return unsupported("a constant where an expression was expected");
    }
  }

  /** How values compared with / assigned to `e` print. */
  private kindOf(e: HExpr): ValueKind {
    switch (e.t) {
      case "payload": {
        if (e.base === NETWORK) {
          return (this.networkField(e) ?? unsupported(`${this.family} header bytes ${e.offset}+${e.len}`))
            .value;
        }
        const f = TRANSPORT_FIELDS.find((x) => x.offset === e.offset && x.len === e.len);
        return f?.value ?? unsupported(`transport header bytes ${e.offset}+${e.len}`);
      }
      case "meta":
        return META_KEYS.get(e.key)?.value ?? unsupported(`meta key ${e.key}`);
      case "ct":
        return CT_KEYS.get(e.key)?.value ?? unsupported(`ct key ${e.key}`);
      case "fib":
        return FIB_TYPE_VALUE;
      case "numgen":
        return { kind: "type", type: TYPE_INTEGER };
      case "binop":
        return this.kindOf(e.left);
      default:
        return unsupported(`value of a ${e.t}`);
    }
  }

  private step(x: LowExpr): void {
    switch (x.kind) {
      case "payload":
        this.load(x.dreg, { t: "payload", base: x.base, offset: x.offset, len: x.len });
        return;
      case "meta":
        if (!META_KEYS.has(x.key)) unsupported(`meta key ${x.key}`);
        this.load(x.dreg, { t: "meta", key: x.key });
        return;
      case "ct":
        if (x.dir !== undefined) unsupported("ct with a direction");
        if (!CT_KEYS.has(x.key)) unsupported(`ct key ${x.key}`);
        this.load(x.dreg, { t: "ct", key: x.key });
        return;
      case "fib":
        if (x.result !== FIB_RESULT_ADDRTYPE) unsupported(`fib result ${x.result}`);
        this.load(x.dreg, { t: "fib", flags: x.flags });
        return;
      case "numgen":
        if (x.type > 1) unsupported(`numgen type ${x.type}`);
        this.load(x.dreg, {
          t: "numgen",
          mode: x.type === 0 ? "inc" : "random",
          mod: x.mod,
          offset: x.offset,
        });
        return;
      case "immediate":
        if (x.dreg === 0) {
          if (!x.verdict) unsupported("immediate value into the verdict register");
          this.emit(verdictJson(x.verdict));
          return;
        }
        if (!x.value) unsupported("verdict into a data register");
        this.load(x.dreg, { t: "value", bytes: x.value });
        return;
      case "bitwise":
        this.load(x.dreg, this.bitwise(this.take(x.sreg), x.len, x.mask, x.xor));
        return;
      case "cmp":
        this.cmp(this.take(x.sreg), x.op, x.data);
        return;
      case "lookup":
        this.lookup(x.sreg, x.dreg, x.set, x.flags);
        return;
      case "meta-set":
        this.metaSet(x.key, this.take(x.sreg));
        return;
      case "nat":
        this.nat(x);
        return;
      case "masq":
        if (x.protoMin !== undefined || x.protoMax !== undefined) unsupported("masquerade to ports");
        {
          const flags = this.natFlags(x.flags, 0);
          this.emit({ masquerade: flags === undefined ? null : { flags } });
          return;
        }
      case "reject":
        this.reject(x.type, x.code);
        return;
      case "counter":
        this.emit({ counter: { packets: x.packets, bytes: x.bytes } });
        return;
      case "dynset":
        this.dynset(x);
        return;
      case "notrack":
        this.emit({ notrack: null });
        return;
    }
  }

  /** nft's bitwise → binop: `(x & m) ^ 0` is `&`, `(x & ~v) ^ v` is `|`, `(x & all) ^ v` is `^`. */
  private bitwise(left: HExpr, len: number, mask: Uint8Array, xor: Uint8Array): HExpr {
    if (mask.length !== len || xor.length !== len || lenOf(left) !== len) unsupported("bitwise length");
    const all = mask.every((b) => b === 0xff);
    const disjoint = mask.every((b, i) => (b & (xor[i] as number)) === 0);
    const covering = mask.every((b, i) => (b | (xor[i] as number)) === 0xff);
    if (isZero(xor) && !all) return { t: "binop", op: "&", left, right: mask };
    if (all && !isZero(xor)) return { t: "binop", op: "^", left, right: xor };
    if (!isZero(xor) && disjoint && covering) return { t: "binop", op: "|", left, right: xor };
    return unsupported("bitwise with both a mask and a value");
  }

  private cmp(e: HExpr, cmpOp: number, data: Uint8Array): void {
    if (cmpOp !== NFT_CMP_EQ && cmpOp !== NFT_CMP_NEQ) unsupported(`cmp op ${cmpOp}`);
    const op = cmpOp === NFT_CMP_EQ ? "==" : "!=";
    // Flags: `ct state & new != 0` prints as `ct state new` (op "in").
    if (e.t === "binop" && e.op === "&" && this.kindOf(e.left).kind === "bitmask") {
      if (op !== "!=" || !isZero(data)) unsupported("bitmask comparison");
      this.emit({
        match: { op: "in", left: this.exprJson(e.left), right: kindJson(this.kindOf(e.left), e.right) },
      });
      return;
    }
    const prefix = this.prefix(e, data);
    if (prefix) {
      this.emit({ match: { op, left: prefix.left, right: prefix.right } });
      return;
    }
    const kind = this.kindOf(e);
    if (kind.kind === "bitmask") unsupported("bitmask compared without a mask");
    if (kind.kind === "ifname" ? data.length > lenOf(e) : data.length !== lenOf(e)) {
      unsupported(`${data.length}-byte compare with a ${lenOf(e)}-byte value`);
    }
    const right = kindJson(kind, data);
    const at = this.emit({ match: { op, left: this.exprJson(e, true), right } });
    if (op !== "==") return;
    if (e.t === "meta" && e.key === META_L4PROTO)
      this.l4 = { proto: data[0] as number, dep: at, fromHeader: false };
    else if (e.t === "payload" && e.base === NETWORK && e.len === 1) {
      // `ip protocol tcp` / `ip6 nexthdr tcp` set nft's context too; what it drops then is not modelled.
      this.l4 = { proto: data[0] as number, dep: undefined, fromHeader: true };
    }
  }

  /** `ip saddr 10.0.0.0/8`: a shorter load, or a load masked by a prefix, of an address field. */
  private prefix(e: HExpr, data: Uint8Array): { left: Json; right: Json } | undefined {
    const payload = e.t === "binop" && e.op === "&" ? e.left : e;
    if (payload.t !== "payload" || payload.base !== NETWORK) return undefined;
    const field = NETWORK_FIELDS[this.family]?.find(
      (f) => f.offset === payload.offset && payload.len <= f.len && f.value.kind === "type" && f.len >= 4,
    );
    if (!field || (payload.len === field.len && e.t !== "binop")) return undefined;
    let bits = payload.len * 8;
    if (e.t === "binop") {
      const mask = e.right;
      let ones = 0;
      for (const b of mask) for (let i = 7; i >= 0; i--) if ((b >> i) & 1) ones++;
      const expect = new Uint8Array(mask.length);
      for (let i = 0; i < ones; i++) expect[i >> 3] = (expect[i >> 3] as number) | (0x80 >> (i & 7));
      if (!mask.every((b, i) => b === expect[i])) unsupported("mask that is not a prefix");
      // nft 1.0.6 loads a byte-aligned prefix's bytes only, and masks the whole field otherwise.
      if (payload.len !== field.len) unsupported("masked partial address load");
      bits = ones;
    }
    if (data.length !== payload.len) unsupported("prefix compare length");
    const addr = new Uint8Array(field.len);
    addr.set(data);
    return {
      left: { payload: { protocol: field.protocol, field: field.field } },
      right: { prefix: { addr: kindJson(field.value, addr), len: bits } },
    };
  }

  /** `@name`, or an anonymous set's elements inline as nft prints them. */
  private setRef(name: string, kind: "set" | "map"): Json {
    if (!ANONYMOUS.test(name)) return `@${name}`;
    const set = this.anon(name) ?? unsupported(`anonymous set ${name} not provided`);
    if (set.kind !== kind || (kind === "map" && set.map !== "verdict"))
      unsupported(`anonymous ${set.kind} ${name}`);
    return { set: set.elements.map(elementJson) };
  }

  private lookup(sreg: Reg, dreg: Reg | undefined, set: string, flags: number): void {
    if (flags & ~1) unsupported(`lookup flags ${flags}`);
    const inv = (flags & 1) !== 0;
    if (dreg !== undefined && dreg !== 0) unsupported("map lookup into a register");
    const vmap = dreg === 0;
    if (vmap && inv) unsupported("inverted vmap");
    const data = this.setRef(set, vmap ? "map" : "set");
    const key = this.takeKey(sreg);
    // nft drops a `meta l4proto` dependency for `tcp dport { … }`, not inside a concatenation.
    const keyJson = this.exprJson(key, key.t === "payload");
    if (vmap) this.emit({ vmap: { key: keyJson, data } });
    else this.emit({ match: { op: inv ? "!=" : "==", left: keyJson, right: data } });
  }

  private metaSet(key: number, v: HExpr): void {
    if (key !== META_MARK) unsupported(`meta set of key ${key}`);
    const kind = this.kindOf({ t: "meta", key });
    let value: Json;
    if (v.t === "value") {
      if (v.bytes.length !== 4) unsupported("mark of the wrong size");
      value = kindJson(kind, v.bytes);
    } else if (v.t === "binop" && v.left.t === "meta" && v.left.key === META_MARK) value = this.exprJson(v);
    else unsupported(`meta mark set from a ${v.t}`);
    this.emit({ mangle: { key: { meta: { key: "mark" } }, value } });
  }

  private natFlags(flags: number, implied: number): Json | undefined {
    let rest = flags & ~implied;
    const names: string[] = [];
    for (const [bit, name] of NAT_FLAGS) {
      if (rest & bit) names.push(name);
      rest &= ~bit;
    }
    if (rest !== 0) unsupported(`nat flags ${flags}`);
    if (names.length === 0) return undefined;
    return names.length === 1 ? (names[0] as string) : names;
  }

  private nat(x: Extract<LowExpr, { kind: "nat" }>): void {
    if (x.family !== NFPROTO[this.family]) unsupported(`nat family ${x.family} in a ${this.family} table`);
    if (x.type > 1) unsupported(`nat type ${x.type}`);
    const body: JsonObject = {};
    const hasAddr = (x.flags & NF_NAT_RANGE_MAP_IPS) !== 0;
    const hasPort = (x.flags & NF_NAT_RANGE_PROTO_SPECIFIED) !== 0;
    if (hasAddr !== (x.addrMin !== undefined) || hasPort !== (x.protoMin !== undefined))
      unsupported("nat registers");
    if (x.addrMin !== undefined) {
      if (x.addrMax !== undefined && x.addrMax !== x.addrMin) unsupported("nat address range");
      const a = this.take(x.addrMin);
      if (a.t !== "value") unsupported(`nat address from a ${a.t}`);
      const field = NETWORK_FIELDS[this.family]?.find((f) => f.field === "daddr");
      if (!field || a.bytes.length !== field.len) unsupported("nat address length");
      body.addr = kindJson(field.value, a.bytes);
    }
    if (x.protoMin !== undefined) {
      if (x.protoMax !== undefined && x.protoMax !== x.protoMin) unsupported("nat port range");
      const p = this.take(x.protoMin);
      if (p.t !== "value" || p.bytes.length !== 2) unsupported("nat port");
      body.port = kindJson(TRANSPORT_FIELDS[0]?.value ?? unsupported("port type"), p.bytes);
    }
    const flags = this.natFlags(x.flags, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
    if (flags !== undefined) body.flags = flags;
    this.emit({ [x.type === 0 ? "snat" : "dnat"]: Object.keys(body).length > 0 ? body : null });
  }

  private reject(type: number, code: number): void {
    switch (type) {
      case 0: {
        const ip6 = this.family === "ip6";
        const name = (ip6 ? ICMPV6_CODES : ICMP_CODES).get(code);
        this.emit({ reject: { type: ip6 ? "icmpv6" : "icmp", expr: name ?? code } });
        return;
      }
      case 1:
        // `reject with tcp reset` implies `meta l4proto tcp`, which nft then drops.
        if (this.l4?.dep !== undefined) {
          if (this.l4.proto !== 6) unsupported("tcp reset after a non-tcp meta l4proto");
          this.out[this.l4.dep] = null;
          this.l4.dep = undefined;
        }
        this.emit({ reject: { type: "tcp reset" } });
        return;
      case 2:
        this.emit({ reject: { type: "icmpx", expr: ICMPX_CODES.get(code) ?? code } });
        return;
      default:
        unsupported(`reject type ${type}`);
    }
  }

  private dynset(x: Extract<LowExpr, { kind: "dynset" }>): void {
    if (ANONYMOUS.test(x.set)) unsupported("meter (dynset on an anonymous set)");
    if (x.flags !== 0) unsupported(`dynset flags ${x.flags}`);
    const op = ["add", "update", "delete"][x.op] ?? unsupported(`dynset op ${x.op}`);
    const key = this.exprJson(this.takeKey(x.sregKey));
    const elem: Json = x.timeout ? { elem: { val: key, timeout: Math.floor(x.timeout / 1000) } } : key;
    this.emit({ set: { op, elem, set: `@${x.set}` } });
  }
}

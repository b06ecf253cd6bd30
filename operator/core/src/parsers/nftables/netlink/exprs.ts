/**
 * The kernel's low-level rule expressions (NFTA_RULE_EXPRESSIONS), decoded from their attributes
 * into plain objects. Only the expressions kube-proxy and flannel rules use are known; any other
 * expression, or a known one with an attribute not understood, is NftNetlinkUnsupported.
 */
import { Attrs, parseAttrs } from "./attrs.js";
import {
  NFTA_DATA_VALUE,
  NFTA_DATA_VERDICT,
  NFTA_EXPR_DATA,
  NFTA_EXPR_NAME,
  NFTA_LIST_ELEM,
  NFTA_VERDICT_CHAIN,
  NFTA_VERDICT_CODE,
} from "./constants.js";
import { NftNetlinkError, NftNetlinkUnsupported } from "./errors.js";

/** A verdict: code (NF_ACCEPT, NFT_JUMP, …) and, for jump/goto, the chain. */
export interface Verdict {
  code: number;
  chain?: string;
}

/** A register as nft numbers it internally: 0 = verdict, 1.. = 32-bit slots (NFT_REG_1 = 1, NFT_REG_2 = 5, NFT_REG32_01 = 2). */
export type Reg = number;

export type LowExpr =
  | { kind: "payload"; dreg: Reg; base: number; offset: number; len: number }
  | { kind: "meta"; dreg: Reg; key: number }
  | { kind: "meta-set"; sreg: Reg; key: number }
  | { kind: "ct"; dreg: Reg; key: number; dir: number | undefined }
  | { kind: "bitwise"; sreg: Reg; dreg: Reg; len: number; mask: Uint8Array; xor: Uint8Array }
  | { kind: "cmp"; sreg: Reg; op: number; data: Uint8Array }
  | { kind: "lookup"; sreg: Reg; dreg: Reg | undefined; set: string; flags: number }
  | { kind: "immediate"; dreg: Reg; value: Uint8Array | undefined; verdict: Verdict | undefined }
  | { kind: "numgen"; dreg: Reg; mod: number; type: number; offset: number }
  | {
      kind: "nat";
      type: number;
      family: number;
      addrMin: Reg | undefined;
      addrMax: Reg | undefined;
      protoMin: Reg | undefined;
      protoMax: Reg | undefined;
      flags: number;
    }
  | { kind: "masq"; flags: number; protoMin: Reg | undefined; protoMax: Reg | undefined }
  | { kind: "reject"; type: number; code: number }
  | { kind: "counter"; packets: number; bytes: number }
  | { kind: "fib"; dreg: Reg; result: number; flags: number }
  | { kind: "dynset"; op: number; sregKey: Reg; set: string; timeout: number; flags: number }
  | { kind: "notrack" };

const NFT_REG_VERDICT = 0;
const NFT_REG_4 = 4;
const NFT_REG32_00 = 8;
const NFT_REG32_15 = 23;

/** nft's netlink_parse_register: 128-bit registers and 32-bit registers on one scale of 32-bit slots. */
function reg(raw: number, where: string): Reg {
  if (raw === NFT_REG_VERDICT) return 0;
  if (raw >= 1 && raw <= NFT_REG_4) return 1 + (raw - 1) * 4;
  if (raw >= NFT_REG32_00 && raw <= NFT_REG32_15) return 1 + raw - NFT_REG32_00;
  throw new NftNetlinkError(`${where}: bad register ${raw}`);
}

function regAt(a: Attrs, type: number, where: string): Reg {
  return reg(a.needU32(type), where);
}

function optRegAt(a: Attrs, type: number, where: string): Reg | undefined {
  const v = a.u32(type);
  return v === undefined ? undefined : reg(v, where);
}

/** NFTA_DATA_*: a value or a verdict. */
export function parseData(b: Uint8Array, where: string): { value?: Uint8Array; verdict?: Verdict } {
  const a = new Attrs(b, where, [NFTA_DATA_VALUE, NFTA_DATA_VERDICT]);
  const value = a.bytes(NFTA_DATA_VALUE);
  if (value) return { value };
  const v = a.bytes(NFTA_DATA_VERDICT);
  if (!v) throw new NftNetlinkError(`${where}: empty data`);
  const va = new Attrs(v, `${where} verdict`, [NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN]);
  const code = new DataView(
    va.need(NFTA_VERDICT_CODE).buffer,
    va.need(NFTA_VERDICT_CODE).byteOffset,
    4,
  ).getInt32(0, false);
  const chain = va.str(NFTA_VERDICT_CHAIN);
  return { verdict: chain === undefined ? { code } : { code, chain } };
}

function value(a: Attrs, type: number, where: string): Uint8Array {
  const d = parseData(a.need(type), where);
  if (!d.value) throw new NftNetlinkUnsupported(`${where}: verdict where a value was expected`);
  return d.value;
}

type Parser = (a: Uint8Array, where: string) => LowExpr;

const PARSERS: Record<string, Parser> = {
  payload(b, w) {
    // NFTA_PAYLOAD_DREG 1, BASE 2, OFFSET 3, LEN 4 (SREG 5 and checksums = payload set: unknown).
    const a = new Attrs(b, w, [1, 2, 3, 4]);
    return {
      kind: "payload",
      dreg: regAt(a, 1, w),
      base: a.needU32(2),
      offset: a.needU32(3),
      len: a.needU32(4),
    };
  },
  meta(b, w) {
    // NFTA_META_DREG 1, KEY 2, SREG 3
    const a = new Attrs(b, w, [1, 2, 3]);
    if (a.has(3)) return { kind: "meta-set", sreg: regAt(a, 3, w), key: a.needU32(2) };
    return { kind: "meta", dreg: regAt(a, 1, w), key: a.needU32(2) };
  },
  ct(b, w) {
    // NFTA_CT_DREG 1, KEY 2, DIRECTION 3 (SREG 4 = ct set: unknown)
    const a = new Attrs(b, w, [1, 2, 3]);
    const dir = a.bytes(3);
    return { kind: "ct", dreg: regAt(a, 1, w), key: a.needU32(2), dir: dir ? (dir[0] as number) : undefined };
  },
  bitwise(b, w) {
    // NFTA_BITWISE_SREG 1, DREG 2, LEN 3, MASK 4, XOR 5, OP 6 (only NFT_BITWISE_MASK_XOR = 0)
    const a = new Attrs(b, w, [1, 2, 3, 4, 5, 6]);
    if ((a.u32(6) ?? 0) !== 0) throw new NftNetlinkUnsupported(`${w}: bitwise shift`);
    return {
      kind: "bitwise",
      sreg: regAt(a, 1, w),
      dreg: regAt(a, 2, w),
      len: a.needU32(3),
      mask: value(a, 4, w),
      xor: value(a, 5, w),
    };
  },
  cmp(b, w) {
    // NFTA_CMP_SREG 1, OP 2, DATA 3
    const a = new Attrs(b, w, [1, 2, 3]);
    return { kind: "cmp", sreg: regAt(a, 1, w), op: a.needU32(2), data: value(a, 3, w) };
  },
  lookup(b, w) {
    // NFTA_LOOKUP_SET 1, SREG 2, DREG 3, SET_ID 4, FLAGS 5
    const a = new Attrs(b, w, [1, 2, 3, 4, 5]);
    return {
      kind: "lookup",
      sreg: regAt(a, 2, w),
      dreg: optRegAt(a, 3, w),
      set: a.needStr(1),
      flags: a.u32(5) ?? 0,
    };
  },
  immediate(b, w) {
    // NFTA_IMMEDIATE_DREG 1, DATA 2
    const a = new Attrs(b, w, [1, 2]);
    const d = parseData(a.need(2), w);
    return { kind: "immediate", dreg: regAt(a, 1, w), value: d.value, verdict: d.verdict };
  },
  numgen(b, w) {
    // NFTA_NG_DREG 1, MODULUS 2, TYPE 3, OFFSET 4
    const a = new Attrs(b, w, [1, 2, 3, 4]);
    return {
      kind: "numgen",
      dreg: regAt(a, 1, w),
      mod: a.needU32(2),
      type: a.needU32(3),
      offset: a.u32(4) ?? 0,
    };
  },
  nat(b, w) {
    // NFTA_NAT_TYPE 1, FAMILY 2, REG_ADDR_MIN 3, REG_ADDR_MAX 4, REG_PROTO_MIN 5, REG_PROTO_MAX 6, FLAGS 7
    const a = new Attrs(b, w, [1, 2, 3, 4, 5, 6, 7]);
    return {
      kind: "nat",
      type: a.needU32(1),
      family: a.needU32(2),
      addrMin: optRegAt(a, 3, w),
      addrMax: optRegAt(a, 4, w),
      protoMin: optRegAt(a, 5, w),
      protoMax: optRegAt(a, 6, w),
      flags: a.u32(7) ?? 0,
    };
  },
  masq(b, w) {
    // NFTA_MASQ_FLAGS 1, REG_PROTO_MIN 2, REG_PROTO_MAX 3
    const a = new Attrs(b, w, [1, 2, 3]);
    return { kind: "masq", flags: a.u32(1) ?? 0, protoMin: optRegAt(a, 2, w), protoMax: optRegAt(a, 3, w) };
  },
  reject(b, w) {
    // NFTA_REJECT_TYPE 1, ICMP_CODE 2 (u8)
    const a = new Attrs(b, w, [1, 2]);
    const code = a.bytes(2);
    return { kind: "reject", type: a.needU32(1), code: code ? (code[0] as number) : 0 };
  },
  counter(b, w) {
    // NFTA_COUNTER_BYTES 1, PACKETS 2, PAD 3
    const a = new Attrs(b, w, [1, 2], [3]);
    return { kind: "counter", bytes: a.u64(1) ?? 0, packets: a.u64(2) ?? 0 };
  },
  fib(b, w) {
    // NFTA_FIB_DREG 1, RESULT 2, FLAGS 3
    const a = new Attrs(b, w, [1, 2, 3]);
    return { kind: "fib", dreg: regAt(a, 1, w), result: a.needU32(2), flags: a.needU32(3) };
  },
  dynset(b, w) {
    // NFTA_DYNSET_SET_NAME 1, SET_ID 2, OP 3, SREG_KEY 4, TIMEOUT 6, PAD 8, FLAGS 9
    // (SREG_DATA 5, EXPR 7 and EXPRESSIONS 10, i.e. map updates and per-element statements: unknown)
    const a = new Attrs(b, w, [1, 2, 3, 4, 6, 9], [8]);
    return {
      kind: "dynset",
      op: a.needU32(3),
      sregKey: regAt(a, 4, w),
      set: a.needStr(1),
      timeout: a.u64(6) ?? 0,
      flags: a.u32(9) ?? 0,
    };
  },
  notrack(b, w) {
    new Attrs(b, w, []);
    return { kind: "notrack" };
  },
};

/** The expressions of a rule (the payload of NFTA_RULE_EXPRESSIONS), in order. */
export function parseExpressions(b: Uint8Array, where: string): LowExpr[] {
  return parseAttrs(b, where).map((elem, i) => {
    const w = `${where} expression ${i + 1}`;
    if (elem.type !== NFTA_LIST_ELEM) throw new NftNetlinkError(`${w}: not a list element`);
    const a = new Attrs(elem.data, w, [NFTA_EXPR_NAME, NFTA_EXPR_DATA]);
    const name = a.needStr(NFTA_EXPR_NAME);
    const parse = Object.hasOwn(PARSERS, name) ? PARSERS[name] : undefined;
    if (!parse) throw new NftNetlinkUnsupported(`${w}: expression "${name}"`);
    return parse(a.bytes(NFTA_EXPR_DATA) ?? new Uint8Array(0), `${w} (${name})`);
  });
}

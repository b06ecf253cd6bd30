/**
 * One NEWSET message + its NEWSETELEM messages → NftSet, as parseNftJson builds it from
 * `nft -j list set|map` (nft 1.0.6: netlink_delinearize_set, netlink_delinearize_setelem,
 * list_expr_sort, interval_map_decompose, set_print_json).
 */
import type { Json } from "../../../model/json.js";
import type { NftFamily, NftSet, NftSetElement } from "../../../model/nftables.js";
import { Attrs, bigLE, bytesBE, parseAttrs, parseUdata, u32LE, udataString } from "./attrs.js";
import {
  BYTEORDER_BIG_ENDIAN,
  BYTEORDER_HOST_ENDIAN,
  NFT_MSG_NEWSET,
  NFT_MSG_NEWSETELEM,
  NFT_SET_ANONYMOUS,
  NFT_SET_CONSTANT,
  NFT_SET_ELEM_INTERVAL_END,
  NFT_SET_INTERVAL,
  NFT_SET_MAP,
  NFT_SET_OBJECT,
  NFT_SET_TIMEOUT,
  NFTA_LIST_ELEM,
  NFTA_SET_DATA_LEN,
  NFTA_SET_DATA_TYPE,
  NFTA_SET_DESC,
  NFTA_SET_ELEM_DATA,
  NFTA_SET_ELEM_EXPIRATION,
  NFTA_SET_ELEM_FLAGS,
  NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_ELEM_PAD,
  NFTA_SET_ELEM_TIMEOUT,
  NFTA_SET_ELEM_USERDATA,
  NFTA_SET_EXPR,
  NFTA_SET_EXPRESSIONS,
  NFTA_SET_FLAGS,
  NFTA_SET_GC_INTERVAL,
  NFTA_SET_HANDLE,
  NFTA_SET_ID,
  NFTA_SET_KEY_LEN,
  NFTA_SET_KEY_TYPE,
  NFTA_SET_NAME,
  NFTA_SET_PAD,
  NFTA_SET_POLICY,
  NFTA_SET_TABLE,
  NFTA_SET_TIMEOUT,
  NFTA_SET_USERDATA,
  UDATA_SET_COMMENT,
  UDATA_SET_DATABYTEORDER,
  UDATA_SET_ELEM_COMMENT,
  UDATA_SET_KEY_TYPEOF,
  UDATA_SET_KEYBYTEORDER,
} from "./constants.js";
import {
  type ByteOrder,
  type Datatype,
  numeric,
  TYPE_INTEGER,
  typeComponents,
  valueJson,
} from "./datatypes.js";
import { NftNetlinkError, NftNetlinkUnsupported } from "./errors.js";
import { parseData, type Verdict } from "./exprs.js";
import { nftBody } from "./messages.js";
import type { NetlinkMessage } from "./reader.js";
import { verdictJson } from "./verdict.js";

/** Kernel 6.x attributes nft 1.0.6 does not read: NFTA_SET_TYPE (backend name), NFTA_SET_COUNT. */
const NFTA_SET_TYPE = 19;
const NFTA_SET_COUNT = 20;
/** Element attributes that only feed JSON fields parseNftJson drops (timeout, expires, statements). */
const NFTA_SET_ELEM_EXPR = 7;
const NFTA_SET_ELEM_EXPRESSIONS = 11;
const NFT_DATA_VERDICT = 0xffffff00;
/** nft's EXPR_CONCAT: the typeof nft 1.0.6 records for a `type a . b` declaration (no expression). */
const EXPR_CONCAT_TYPEOF = Uint8Array.of(0, 4, 13, 0, 0, 0, 1, 0);

/** A key or data type: its components (one unless a concatenation) and byte order. */
interface KeyType {
  types: Datatype[];
  /** Byte length as the kernel holds it (components padded to 4 bytes). */
  len: number;
  order: ByteOrder;
}

/** A set as the kernel describes it, before its elements. */
export interface SetInfo {
  family: NftFamily;
  table: string;
  name: string;
  handle: number;
  flags: number;
  key: KeyType;
  data: KeyType | "verdict" | undefined;
  timeout: number;
  comment: string | undefined;
}

function padded(n: number): number {
  return (n + 3) & ~3;
}

function keyType(id: number, len: number, udataOrder: number | undefined, what: string): KeyType {
  const types = typeComponents(id);
  const first = types[0] as Datatype;
  if (types.length === 1 && first.size === 0) {
    // integer: nft takes the byte order from the set's user data.
    if (first.id !== TYPE_INTEGER) throw new NftNetlinkUnsupported(`${what}: type ${first.name}`);
    if (udataOrder !== BYTEORDER_HOST_ENDIAN && udataOrder !== BYTEORDER_BIG_ENDIAN) {
      throw new NftNetlinkUnsupported(`${what}: integer without byte order`);
    }
    return { types, len, order: udataOrder === BYTEORDER_HOST_ENDIAN ? "host" : "big" };
  }
  const want = types.length === 1 ? first.size : types.reduce((n, t) => n + padded(t.size), 0);
  if (want !== len) throw new NftNetlinkError(`${what}: length ${len} does not fit type ${id}`);
  return { types, len, order: first.byteorder };
}

export function readSetInfo(m: NetlinkMessage): SetInfo {
  const { family, attrs } = nftBody(m, NFT_MSG_NEWSET, "set");
  const a = new Attrs(
    attrs,
    "set",
    [
      NFTA_SET_TABLE,
      NFTA_SET_NAME,
      NFTA_SET_FLAGS,
      NFTA_SET_KEY_TYPE,
      NFTA_SET_KEY_LEN,
      NFTA_SET_DATA_TYPE,
      NFTA_SET_DATA_LEN,
      NFTA_SET_POLICY,
      NFTA_SET_DESC,
      NFTA_SET_ID,
      NFTA_SET_TIMEOUT,
      NFTA_SET_GC_INTERVAL,
      NFTA_SET_USERDATA,
      NFTA_SET_HANDLE,
    ],
    [NFTA_SET_PAD, NFTA_SET_EXPR, NFTA_SET_EXPRESSIONS, NFTA_SET_TYPE, NFTA_SET_COUNT],
  );
  const name = a.needStr(NFTA_SET_NAME);
  const what = `set ${name}`;
  const flags = a.u32(NFTA_SET_FLAGS) ?? 0;
  if (flags & NFT_SET_OBJECT) throw new NftNetlinkUnsupported(`${what}: object map`);
  const udata = a.has(NFTA_SET_USERDATA) ? parseUdata(a.need(NFTA_SET_USERDATA), what) : new Map();
  const u32 = (t: number): number | undefined => {
    const b = udata.get(t);
    if (b === undefined) return undefined;
    if (b.length !== 4) throw new NftNetlinkError(`${what}: user data ${t} is not a u32`);
    return u32LE(b);
  };
  const typeof_ = udata.get(UDATA_SET_KEY_TYPEOF);
  if (
    typeof_ !== undefined &&
    !(flags & NFT_SET_ANONYMOUS) &&
    !(
      typeof_.length === EXPR_CONCAT_TYPEOF.length &&
      typeof_.every((x: number, i: number) => x === EXPR_CONCAT_TYPEOF[i])
    )
  ) {
    throw new NftNetlinkUnsupported(`${what}: declared with typeof`);
  }
  const handle = a.u64(NFTA_SET_HANDLE);
  if (handle === undefined) throw new NftNetlinkError(`${what}: missing handle`);
  const key = keyType(
    a.needU32(NFTA_SET_KEY_TYPE),
    a.needU32(NFTA_SET_KEY_LEN),
    u32(UDATA_SET_KEYBYTEORDER),
    what,
  );
  let data: KeyType | "verdict" | undefined;
  if (flags & NFT_SET_MAP) {
    const id = a.needU32(NFTA_SET_DATA_TYPE);
    data =
      id === NFT_DATA_VERDICT
        ? "verdict"
        : keyType(id, a.needU32(NFTA_SET_DATA_LEN), u32(UDATA_SET_DATABYTEORDER), `${what} data`);
  }
  const comment = udata.get(UDATA_SET_COMMENT);
  return {
    family,
    table: a.needStr(NFTA_SET_TABLE),
    name,
    handle,
    flags,
    key,
    data,
    timeout: a.u64(NFTA_SET_TIMEOUT) ?? 0,
    comment: comment === undefined ? undefined : udataString(comment, what),
  };
}

/** One element as the kernel holds it. */
interface RawElement {
  key: Uint8Array;
  end: boolean;
  data: Uint8Array | undefined;
  verdict: Verdict | undefined;
  comment: string | undefined;
}

function readElements(info: SetInfo, messages: readonly NetlinkMessage[]): RawElement[] {
  const out: RawElement[] = [];
  const what = `set ${info.name} elements`;
  for (const m of messages) {
    const { attrs } = nftBody(m, NFT_MSG_NEWSETELEM, what);
    const a = new Attrs(attrs, what, [
      NFTA_SET_ELEM_LIST_TABLE,
      NFTA_SET_ELEM_LIST_SET,
      NFTA_SET_ELEM_LIST_ELEMENTS,
    ]);
    if (a.str(NFTA_SET_ELEM_LIST_SET) !== info.name || a.str(NFTA_SET_ELEM_LIST_TABLE) !== info.table) {
      throw new NftNetlinkError(`${what}: message for another set`);
    }
    for (const item of parseAttrs(a.bytes(NFTA_SET_ELEM_LIST_ELEMENTS) ?? new Uint8Array(0), what)) {
      if (item.type !== NFTA_LIST_ELEM) throw new NftNetlinkError(`${what}: not a list element`);
      const e = new Attrs(
        item.data,
        what,
        [NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_DATA, NFTA_SET_ELEM_FLAGS, NFTA_SET_ELEM_USERDATA],
        [
          NFTA_SET_ELEM_TIMEOUT,
          NFTA_SET_ELEM_EXPIRATION,
          NFTA_SET_ELEM_PAD,
          NFTA_SET_ELEM_EXPR,
          NFTA_SET_ELEM_EXPRESSIONS,
        ],
      );
      const flags = e.u32(NFTA_SET_ELEM_FLAGS) ?? 0;
      if (flags & ~NFT_SET_ELEM_INTERVAL_END)
        throw new NftNetlinkUnsupported(`${what}: element flags ${flags}`);
      const key = parseData(e.need(NFTA_SET_ELEM_KEY), what).value;
      if (!key || key.length !== info.key.len) throw new NftNetlinkError(`${what}: bad key`);
      const d = e.has(NFTA_SET_ELEM_DATA) ? parseData(e.need(NFTA_SET_ELEM_DATA), what) : {};
      let comment: string | undefined;
      if (e.has(NFTA_SET_ELEM_USERDATA)) {
        const c = parseUdata(e.need(NFTA_SET_ELEM_USERDATA), what).get(UDATA_SET_ELEM_COMMENT);
        if (c !== undefined) comment = udataString(c, what);
      }
      out.push({
        key,
        end: (flags & NFT_SET_ELEM_INTERVAL_END) !== 0,
        data: d.value,
        verdict: d.verdict,
        comment,
      });
    }
  }
  return out;
}

/** The components of a key/data value, each with the bytes of its type (padding dropped). */
function components(t: KeyType, b: Uint8Array): Uint8Array[] {
  if (t.types.length === 1) return [b];
  const out: Uint8Array[] = [];
  let off = 0;
  for (const c of t.types) {
    out.push(b.subarray(off, off + c.size));
    off += padded(c.size);
  }
  return out;
}

function typedJson(t: KeyType, b: Uint8Array): Json {
  const parts = components(t, b);
  if (parts.length === 1) return valueJson(t.types[0] as Datatype, b, t.order);
  return { concat: parts.map((p, i) => valueJson(t.types[i] as Datatype, p, t.order)) };
}

/** nft's expr_msort_value: the value, or for a concatenation its unpadded bytes read host-endian. */
function sortValue(t: KeyType, b: Uint8Array): bigint {
  const parts = components(t, b);
  if (parts.length === 1) return numeric(b, t.order);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return bigLE(all);
}

function dataJson(info: SetInfo, e: RawElement): Json | undefined {
  if (info.data === undefined) return undefined;
  if (info.data === "verdict") {
    if (!e.verdict) throw new NftNetlinkError(`set ${info.name}: element without verdict`);
    return verdictJson(e.verdict);
  }
  if (!e.data || e.data.length !== info.data.len)
    throw new NftNetlinkError(`set ${info.name}: bad element data`);
  return typedJson(info.data, e.data);
}

function element(info: SetInfo, e: RawElement, key: Json): NftSetElement {
  const out: NftSetElement = { key };
  const value = dataJson(info, e);
  if (value !== undefined) out.value = value;
  if (e.comment !== undefined) out.comment = e.comment;
  return out;
}

/** interval_map_decompose: start/end elements → values, prefixes and ranges, in value order. */
function decompose(info: SetInfo, raw: RawElement[]): NftSetElement[] {
  const t = info.key;
  const type = t.types[0] as Datatype;
  if (t.types.length !== 1 || t.order !== "big" || type.size === 0) {
    throw new NftNetlinkUnsupported(`set ${info.name}: interval set of ${type.name}`);
  }
  const bits = BigInt(t.len * 8);
  const value = (e: RawElement) => numeric(e.key, "big");
  const sorted = [...raw].sort((x, y) => {
    const d = value(x) - value(y);
    if (d !== 0n) return d < 0n ? -1 : 1;
    return x.end === y.end ? 0 : x.end ? -1 : 1;
  });
  const ranges: RawElement[] = [];
  let open = false;
  for (const e of sorted) {
    if (e.end) open = false;
    else if (open) ranges.push({ ...e, end: true });
    else open = true;
    ranges.push(e);
  }
  const out: NftSetElement[] = [];
  const add = (low: RawElement, high: bigint, inclusive: boolean) => {
    const lo = value(low);
    const range = high - lo - (inclusive ? 0n : 1n);
    const json = (n: bigint) => valueJson(type, bytesBE(n, t.len), "big");
    let key: Json;
    if (range === 0n) key = json(lo);
    else if ((range & (range + 1n)) === 0n && (lo & range) === 0n && type.prefix) {
      let ones = 0n;
      while ((range >> ones) & 1n) ones++;
      key = { prefix: { addr: json(lo), len: Number(bits - ones) } };
    } else key = { range: [json(lo), json(lo + range)] };
    out.push(element(info, low, key));
  };
  let low: RawElement | undefined;
  for (const e of ranges) {
    if (!low) {
      if (!e.end) low = e;
      continue;
    }
    add(low, value(e), false);
    if (e.end) low = undefined;
  }
  if (low) {
    const max = (1n << bits) - 1n;
    if (value(low) === max) out.push(element(info, low, valueJson(type, low.key, "big")));
    else add(low, max, true);
  }
  return out;
}

/** The set's elements as nft lists them (sorted; intervals decomposed). */
export function setElements(info: SetInfo, messages: readonly NetlinkMessage[]): NftSetElement[] {
  const raw = readElements(info, messages);
  if (info.flags & NFT_SET_INTERVAL) return decompose(info, raw);
  if (raw.some((e) => e.end)) throw new NftNetlinkError(`set ${info.name}: interval end in a plain set`);
  const keyed = raw.map((e) => ({ e, sort: sortValue(info.key, e.key) }));
  keyed.sort((x, y) => (x.sort === y.sort ? 0 : x.sort < y.sort ? -1 : 1));
  return keyed.map(({ e }) => element(info, e, typedJson(info.key, e.key)));
}

function typeJson(t: KeyType): string | string[] {
  const names = t.types.map((d) => d.name);
  return names.length === 1 ? (names[0] as string) : names;
}

/**
 * One NEWSET message + its NEWSETELEM messages → NftSet exactly as parseNftJson builds it from
 * `nft -j list set|map <family> <table> <name>`. Throws NftNetlinkUnsupported likewise.
 */
export function decodeNftSet(set: NetlinkMessage, elements: readonly NetlinkMessage[]): NftSet {
  const info = readSetInfo(set);
  const flags: string[] = [];
  if (info.flags & NFT_SET_CONSTANT) flags.push("constant");
  if (info.flags & NFT_SET_INTERVAL) flags.push("interval");
  if (info.flags & NFT_SET_TIMEOUT) flags.push("timeout");
  const out: NftSet = {
    family: info.family,
    table: info.table,
    name: info.name,
    handle: info.handle,
    kind: info.data === undefined ? "set" : "map",
    type: typeJson(info.key),
    flags,
    elements: setElements(info, elements),
  };
  if (info.data !== undefined)
    out.map = info.data === "verdict" ? "verdict" : info.data.types.map((d) => d.name).join(" . ");
  // set_print_json: json_integer(set->timeout / 1000), an integer division.
  if (info.timeout) out.timeout = Math.floor(info.timeout / 1000);
  if (info.comment !== undefined) out.comment = info.comment;
  return out;
}

/** An element's JSON as nft prints it inside a rule's anonymous set (`set_elem_expr_json`, mappings). */
export function elementJson(e: NftSetElement): Json {
  const key: Json = e.comment !== undefined ? { elem: { val: e.key, comment: e.comment } } : e.key;
  return e.value === undefined ? key : [key, e.value];
}

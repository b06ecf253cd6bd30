/**
 * Parser for `nft -j list ruleset` (libnftables JSON): tables with their chains, sets/maps (with
 * elements) and rules in chain order, each rule rendered back to nft syntax for evidence.
 */
import { sourceCommand } from "../../capture/sources.js";
import type { Json, JsonObject } from "../../model/json.js";
import type {
  NftChain,
  NftFamily,
  NftRule,
  NftRuleset,
  NftSet,
  NftSetElement,
  NftTable,
} from "../../model/nftables.js";
import { ParseError } from "../errors.js";
import { LazyNftChains, type LazyNftRuleset, type NftParseStats } from "./lazy-chains.js";
import { isObject, numberAt, soleKey, stringAt, stringsAt } from "./narrow.js";
import { renderNftExpr } from "./render.js";
import { type NftElementIndex, NftScanError, scanNftElements } from "./scan.js";

const SOURCE = sourceCommand("nft-ruleset");
const FAMILIES: readonly NftFamily[] = ["ip", "ip6", "inet", "arp", "bridge", "netdev"];
const CHAIN_TYPES = ["filter", "nat", "route"] as const;
const HOOKS = ["prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"] as const;
const POLICIES = ["accept", "drop"] as const;

/** Where in the document an object sits, for errors: `nftables[12] (rule)`. */
interface Place {
  index: number;
  kind: string;
  raw: JsonObject;
}

function fail(place: Place, detail: string): never {
  throw new ParseError(
    SOURCE,
    undefined,
    `nftables[${place.index}] (${place.kind}): ${detail}`,
    JSON.stringify(place.raw),
  );
}

function requireString(o: JsonObject, key: string, place: Place): string {
  const v = stringAt(o, key);
  if (v === undefined) fail(place, `missing or non-string "${key}"`);
  return v;
}

function requireNumber(o: JsonObject, key: string, place: Place): number {
  const v = numberAt(o, key);
  if (v === undefined) fail(place, `missing or non-numeric "${key}"`);
  return v;
}

function requireFamily(o: JsonObject, place: Place): NftFamily {
  const v = requireString(o, "family", place);
  const family = FAMILIES.find((f) => f === v);
  if (!family) fail(place, `unknown family "${v}"`);
  return family;
}

function optionalOneOf<T extends string>(
  o: JsonObject,
  key: string,
  allowed: readonly T[],
  place: Place,
): T | undefined {
  if (o[key] === undefined) return undefined;
  const v = stringAt(o, key);
  const found = allowed.find((a) => a === v);
  if (!found) fail(place, `unexpected ${key} ${JSON.stringify(o[key])}`);
  return found;
}

/** Options of parseNftJson. */
export interface NftParseOptions {
  /**
   * Documents shorter than this (characters) have every chain decoded before parseNftJson returns,
   * so that a small ruleset is plain, complete data (a structuredClone copies every chain) and
   * every error shows at once. Default 1 MiB; 0 keeps every document lazy.
   */
  decodeAllBelow?: number;
}

const DECODE_ALL_BELOW = 1 << 20;

/**
 * A document the parser reads pieces of: a string, or a file read at offsets (probe), so the
 * whole text need not be in memory. Offsets are those of the index built over the same document.
 */
export interface NftText {
  readonly length: number;
  slice(start: number, end: number): string;
  /**
   * Optional, for the index pass: a string holding at least [start, start + min) (less at the end of
   * the document), one character per byte (latin1), and the offset of its first character. Lets
   * the parser read the headers of 100k+ elements in order without a read and a string each.
   */
  window?(start: number, min: number): { text: string; base: number };
}

/** A piece of `text` around [start, start + min), as NftText.window. */
function windowAt(text: NftText | string, start: number, min: number): { text: string; base: number } {
  if (typeof text === "string") return { text, base: 0 };
  if (text.window) return text.window(start, min);
  return { text: text.slice(start, start + min), base: start };
}

const FAMILY_RE = "(ip|ip6|inet|arp|bridge|netdev)";
/** A JSON string without escapes or non-ASCII: what the fast paths accept (others take JSON.parse). */
const PLAIN_STRING = '"([ !#-\\[\\]-~]*)"';
/** The fields nft prints first in a rule, in its order. */
const RULE_HEAD_RE = new RegExp(
  `\\{"rule": \\{"family": "${FAMILY_RE}", "table": ${PLAIN_STRING}, "chain": ${PLAIN_STRING}, "handle": \\d+,`,
  "y",
);
/** A whole chain declaration as nft prints it (a base chain with type, hook, prio and policy). */
const CHAIN_RE = new RegExp(
  `\\{"chain": \\{"family": "${FAMILY_RE}", "table": ${PLAIN_STRING}, "name": ${PLAIN_STRING}, "handle": \\d+` +
    '(?:, "type": "(?:filter|nat|route)", "hook": "(prerouting|input|forward|output|postrouting|ingress|egress)", "prio": -?\\d+, "policy": "(?:accept|drop)")?\\}\\}',
  "y",
);

/** A chain declaration read without decoding it: family, table, name and whether it has a hook. */
export function chainDeclAt(
  text: NftText | string,
  scan: NftElementIndex,
  index: number,
): { family: string; table: string; name: string; hooked: boolean } | undefined {
  const start = scan.start.get(index);
  const end = scan.end.get(index);
  const w = windowAt(text, start, end - start);
  CHAIN_RE.lastIndex = start - w.base;
  const m = CHAIN_RE.exec(w.text);
  if (!m || CHAIN_RE.lastIndex !== end - w.base) return undefined;
  return { family: m[1] as string, table: m[2] as string, name: m[3] as string, hooked: m[4] !== undefined };
}

/** The 1-based line of `offset` in `text`. */
function lineAt(text: NftText, offset: number): number {
  const head = text.slice(0, Math.min(offset, text.length));
  let line = 1;
  for (let i = head.indexOf("\n"); i >= 0; i = head.indexOf("\n", i + 1)) line++;
  return line;
}

/** Decodes the element text[start, end); throws ParseError with the line of a syntax error. */
function decodeAt(text: NftText, start: number, end: number): Json {
  const piece = text.slice(start, end);
  try {
    return JSON.parse(piece) as Json;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(message);
    const offset = pos?.[1] !== undefined ? start + Number(pos[1]) : end;
    throw new ParseError(SOURCE, lineAt(text, offset), `invalid or truncated JSON: ${message}`);
  }
}

/** The one-key element `index` of the document, decoded, with its place for errors. */
function elementAt(text: NftText, scan: NftElementIndex, index: number): { body: JsonObject; place: Place } {
  const item = decodeAt(text, scan.start.get(index), scan.end.get(index));
  if (!isObject(item)) {
    throw new ParseError(SOURCE, undefined, `nftables[${index}]: expected an object`, JSON.stringify(item));
  }
  const kind = soleKey(item) ?? "?";
  const place: Place = { index, kind, raw: item };
  const body = item[kind];
  if (!isObject(body)) fail(place, "expected an object");
  return { body, place };
}

/** How much of a rule is read to find its header (family, table, chain, handle, comment). */
const RULE_HEAD = 1024;

/**
 * A rule's leading fields (family, table, chain, handle, comment), decoded without its `expr` list:
 * nft prints `expr` last, and `"expr":` cannot occur inside a JSON string.
 */
function ruleHeaderAt(
  text: NftText,
  scan: NftElementIndex,
  index: number,
): { body: JsonObject; place: Place } {
  const start = scan.start.get(index);
  const end = scan.end.get(index);
  const w = windowAt(text, start, Math.min(end - start, RULE_HEAD));
  RULE_HEAD_RE.lastIndex = start - w.base;
  const m = RULE_HEAD_RE.exec(w.text);
  if (m) {
    const body: JsonObject = { family: m[1] as string, table: m[2] as string, chain: m[3] as string };
    return { body, place: { index, kind: "rule", raw: { rule: body } } };
  }
  const head = text.slice(start, Math.min(end, start + RULE_HEAD));
  const expr = head.indexOf('"expr":');
  if (expr < 0) return elementAt(text, scan, index);
  let cut = expr - 1;
  while (cut > 0 && /[\s,]/.test(head.charAt(cut))) cut--;
  let item: Json;
  try {
    item = JSON.parse(`${head.slice(0, cut + 1)}}}`) as Json;
  } catch {
    return elementAt(text, scan, index); // names the real error
  }
  if (!isObject(item) || !isObject(item.rule)) return elementAt(text, scan, index);
  return { body: item.rule, place: { index, kind: "rule", raw: item } };
}

/**
 * Parses `nft -j list ruleset` output into tables, chains, sets/maps and rendered rules, lazily: one
 * pass indexes the document (scan.ts) and checks every declaration and each rule's chain; a
 * chain's rules are decoded and rendered when the chain is first asked for (LazyNftChains), so a
 * 10k-Service kube-proxy table costs the text plus an index, not 120k rule trees. Tables, sets and
 * their elements are decoded at once. Throws ParseError naming the source on bad JSON.
 */
export function parseNftJson(text: string, options: NftParseOptions = {}): LazyNftRuleset {
  let scan: NftElementIndex;
  try {
    scan = scanNftElements(text);
  } catch (err) {
    throw scanError(err, text);
  }
  return parseNftIndexed(text, scan, options);
}

/** A scan failure as the ParseError the eager parser gave. */
export function scanError(err: unknown, text: NftText): unknown {
  if (!(err instanceof NftScanError)) return err;
  if (err.message.startsWith("expected")) return new ParseError(SOURCE, 1, err.message, text.slice(0, 200));
  return new ParseError(SOURCE, lineAt(text, err.offset), `invalid or truncated JSON: ${err.message}`);
}

/**
 * parseNftJson over a document already indexed (scanNftElements, NftChunkScanner) and read in
 * pieces: the probe indexes a file as it streams in and reads elements from it on demand.
 */
export function parseNftIndexed(
  text: NftText,
  scan: NftElementIndex,
  options: NftParseOptions = {},
): LazyNftRuleset {
  const stats: NftParseStats = { chainsParsed: 0, rulesParsed: 0 };
  const decode = (index: number) => elementAt(text, scan, index);
  const tables = new Map<string, NftTable>();
  const ruleset = { tables: [] } as NftRuleset as LazyNftRuleset;
  // Not enumerable: a ruleset stays plain data for structuredClone and JSON.
  Object.defineProperty(ruleset, "stats", { value: () => ({ ...stats }), enumerable: false });
  const tableOf = (family: NftFamily, name: string, place: Place): NftTable => {
    const t = tables.get(`${family} ${name}`);
    if (!t) fail(place, `refers to table ${family} ${name}, which was not declared before it`);
    return t;
  };
  const chainsOf = (table: NftTable): LazyNftChains => table.chains as LazyNftChains;

  const lastRule: { chains?: LazyNftChains; chain: string; prefix: string } = { chain: "", prefix: "" };
  for (let index = 0; index < scan.kind.length; index++) {
    const kind = scan.kind[index] as string;
    if (!["metainfo", "table", "chain", "set", "map", "rule", "element"].includes(kind)) {
      if (kind === "?") decode(index); // not an object, or an empty one: named as an error
      continue; // flowtables, counters, …
    }
    if (kind === "rule") {
      // Rules of one chain follow each other: the previous rule's header, matched in place, is
      // the common case and allocates nothing (120k rules → 60k strings instead of 480k).
      const w = windowAt(text, scan.start.get(index), lastRule.prefix.length);
      if (lastRule.chains && w.text.startsWith(lastRule.prefix, scan.start.get(index) - w.base)) {
        lastRule.chains.addRule(lastRule.chain, index);
        continue;
      }
      const { body, place } = ruleHeaderAt(text, scan, index);
      const family = requireFamily(body, place);
      const table = tableOf(family, requireString(body, "table", place), place);
      const chainName = requireString(body, "chain", place);
      if (!chainsOf(table).addRule(chainName, index)) {
        fail(place, `refers to chain ${chainName}, which was not declared before it`);
      }
      lastRule.chains = undefined;
      const plain = /^[ !#-[\]-~]*$/;
      if (plain.test(table.name) && plain.test(chainName)) {
        lastRule.chains = chainsOf(table);
        lastRule.chain = chainName;
        lastRule.prefix = `{"rule": {"family": "${family}", "table": "${table.name}", "chain": "${chainName}", "handle": `;
      }
      continue;
    }
    if (kind === "chain") {
      const decl = chainDeclAt(text, scan, index);
      const table = decl && tables.get(`${decl.family} ${decl.table}`);
      if (decl && table) {
        chainsOf(table).declare(decl.name, index, decl.hooked);
        continue;
      }
    }
    const { body, place } = decode(index);
    switch (kind) {
      case "metainfo":
        ruleset.version = stringAt(body, "version");
        break;
      case "table": {
        const table = readTable(body, place);
        table.chains = new LazyNftChains((chainIndex, ruleIndices) => {
          const decl = decode(chainIndex);
          const chain = readChain(decl.body, decl.place);
          for (const r of ruleIndices) {
            const rule = decode(r);
            chain.rules.push(readRule(rule.body, chain.family, chain, rule.place));
          }
          stats.chainsParsed++;
          stats.rulesParsed += ruleIndices.length;
          return chain;
        });
        tables.set(`${table.family} ${table.name}`, table);
        ruleset.tables.push(table);
        break;
      }
      case "chain": {
        const chain = readChain(body, place); // checked now, decoded again when asked for (slow path)
        chainsOf(tableOf(chain.family, chain.table, place)).declare(
          chain.name,
          index,
          chain.hook !== undefined,
        );
        break;
      }
      case "set":
      case "map": {
        const set = readSet(body, kind, place);
        tableOf(set.family, set.table, place).sets.set(set.name, set);
        break;
      }
      case "element": {
        const family = requireFamily(body, place);
        const table = tableOf(family, requireString(body, "table", place), place);
        const name = requireString(body, "name", place);
        const set = table.sets.get(name);
        if (!set) fail(place, `refers to set ${name}, which was not declared before it`);
        set.elements.push(...readElements(body.elem, set.kind, place));
        break;
      }
    }
  }
  if (text.length < (options.decodeAllBelow ?? DECODE_ALL_BELOW)) {
    for (const t of ruleset.tables) chainsOf(t).decodeAll();
  }
  return ruleset;
}

function readTable(o: JsonObject, place: Place): NftTable {
  const table: NftTable = {
    family: requireFamily(o, place),
    name: requireString(o, "name", place),
    handle: requireNumber(o, "handle", place),
    chains: new Map(),
    sets: new Map(),
  };
  const comment = stringAt(o, "comment");
  if (comment !== undefined) table.comment = comment;
  return table;
}

/** A chain object of `nft -j` (its declaration: no rules) as an NftChain; `index` places errors. */
export function chainFromJson(o: JsonObject, index: number): NftChain {
  return readChain(o, { index, kind: "chain", raw: o });
}

function readChain(o: JsonObject, place: Place): NftChain {
  const chain: NftChain = {
    family: requireFamily(o, place),
    table: requireString(o, "table", place),
    name: requireString(o, "name", place),
    handle: requireNumber(o, "handle", place),
    rules: [],
  };
  const type = optionalOneOf(o, "type", CHAIN_TYPES, place);
  const hook = optionalOneOf(o, "hook", HOOKS, place);
  const policy = optionalOneOf(o, "policy", POLICIES, place);
  if (type) chain.type = type;
  if (hook) {
    chain.hook = hook;
    chain.prio = requireNumber(o, "prio", place);
  }
  if (policy) chain.policy = policy;
  return chain;
}

function readSet(o: JsonObject, kind: "set" | "map", place: Place): NftSet {
  const type = o.type;
  const typeValue =
    typeof type === "string"
      ? type
      : Array.isArray(type) && type.every((t): t is string => typeof t === "string")
        ? type
        : fail(place, 'missing or invalid "type"');
  const map = o.map;
  const set: NftSet = {
    family: requireFamily(o, place),
    table: requireString(o, "table", place),
    name: requireString(o, "name", place),
    handle: requireNumber(o, "handle", place),
    kind: kind === "map" || map !== undefined ? "map" : "set",
    type: typeValue,
    flags: stringsAt(o, "flags"),
    elements: [],
  };
  if (typeof map === "string") set.map = map;
  else if (Array.isArray(map)) set.map = map.filter((m): m is string => typeof m === "string");
  const comment = stringAt(o, "comment");
  if (comment !== undefined) set.comment = comment;
  const timeout = numberAt(o, "timeout");
  if (timeout !== undefined) set.timeout = timeout;
  if (o.elem !== undefined) set.elements = readElements(o.elem, set.kind, place);
  return set;
}

function readElements(elem: Json | undefined, kind: "set" | "map", place: Place): NftSetElement[] {
  if (elem === undefined) return [];
  if (!Array.isArray(elem)) fail(place, '"elem" must be a list');
  return elem.map((item, i) => {
    if (kind === "map") {
      if (!Array.isArray(item) || item.length !== 2)
        fail(place, `map element ${i} is not a [key, value] pair`);
      const [key, value] = item as [Json, Json];
      return { ...unwrapElem(key), value };
    }
    return unwrapElem(item);
  });
}

/** `{"elem":{"val":…,"comment":…}}` → key + comment; any other value is the key itself. */
function unwrapElem(item: Json): NftSetElement {
  if (isObject(item) && isObject(item.elem)) {
    const inner = item.elem;
    const out: NftSetElement = { key: inner.val ?? null };
    const comment = stringAt(inner, "comment");
    if (comment !== undefined) out.comment = comment;
    return out;
  }
  return { key: item };
}

function readRule(o: JsonObject, family: NftFamily, chain: NftChain, place: Place): NftRule {
  const expr = o.expr;
  if (!Array.isArray(expr)) fail(place, 'missing "expr" list');
  const statements = expr.map((s, i) => (isObject(s) ? s : fail(place, `expr[${i}] is not an object`)));
  const comment = stringAt(o, "comment");
  const rendered = renderNftExpr(statements);
  const rule: NftRule = {
    family,
    table: chain.table,
    chain: chain.name,
    handle: requireNumber(o, "handle", place),
    index: chain.rules.length + 1,
    expr: statements,
    text: comment !== undefined ? `${rendered} comment ${JSON.stringify(comment)}` : rendered,
  };
  if (comment !== undefined) rule.comment = comment;
  return rule;
}

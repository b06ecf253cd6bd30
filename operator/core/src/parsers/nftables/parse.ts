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
import { isObject, numberAt, soleKey, stringAt, stringsAt } from "./narrow.js";
import { renderNftExpr } from "./render.js";

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

/** Parses the whole document; throws ParseError naming the source on bad JSON. */
function parseDocument(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(message);
    const line =
      pos?.[1] !== undefined ? text.slice(0, Number(pos[1])).split("\n").length : text.split("\n").length;
    throw new ParseError(SOURCE, line, `invalid or truncated JSON: ${message}`);
  }
}

/** Parses `nft -j list ruleset` output into tables, chains, sets/maps and rendered rules. */
export function parseNftJson(text: string): NftRuleset {
  const doc = parseDocument(text);
  if (!isObject(doc) || !Array.isArray(doc.nftables)) {
    throw new ParseError(SOURCE, 1, 'expected an object {"nftables": [...]}', text.slice(0, 200));
  }
  const ruleset: NftRuleset = { tables: [] };
  const tables = new Map<string, NftTable>();
  const tableOf = (family: NftFamily, name: string, place: Place): NftTable => {
    const t = tables.get(`${family} ${name}`);
    if (!t) fail(place, `refers to table ${family} ${name}, which was not declared before it`);
    return t;
  };

  doc.nftables.forEach((item, index) => {
    if (!isObject(item)) {
      throw new ParseError(SOURCE, undefined, `nftables[${index}]: expected an object`, JSON.stringify(item));
    }
    const kind = soleKey(item) ?? "?";
    const body = item[kind];
    const place: Place = { index, kind, raw: item };
    if (kind === "metainfo") {
      if (isObject(body)) ruleset.version = stringAt(body, "version");
      return;
    }
    if (!["table", "chain", "set", "map", "rule", "element"].includes(kind)) return; // flowtables, counters, …
    if (!isObject(body)) fail(place, "expected an object");
    switch (kind) {
      case "table": {
        const table = readTable(body, place);
        tables.set(`${table.family} ${table.name}`, table);
        ruleset.tables.push(table);
        return;
      }
      case "chain": {
        const chain = readChain(body, place);
        tableOf(chain.family, chain.table, place).chains.set(chain.name, chain);
        return;
      }
      case "set":
      case "map": {
        const set = readSet(body, kind, place);
        tableOf(set.family, set.table, place).sets.set(set.name, set);
        return;
      }
      case "rule": {
        const family = requireFamily(body, place);
        const table = tableOf(family, requireString(body, "table", place), place);
        const chainName = requireString(body, "chain", place);
        const chain = table.chains.get(chainName);
        if (!chain) fail(place, `refers to chain ${chainName}, which was not declared before it`);
        chain.rules.push(readRule(body, family, chain, place));
        return;
      }
      case "element": {
        const family = requireFamily(body, place);
        const table = tableOf(family, requireString(body, "table", place), place);
        const name = requireString(body, "name", place);
        const set = table.sets.get(name);
        if (!set) fail(place, `refers to set ${name}, which was not declared before it`);
        set.elements.push(...readElements(body.elem, set.kind, place));
        return;
      }
    }
  });
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

/**
 * Which nft tables netmap reads, and how a capture made of several `nft -j list table` outputs
 * becomes one `nft -j list ruleset`-shaped document.
 *
 * iptables-nft keeps iptables' rules in nft tables of its own: family ip/ip6, named
 * filter/nat/mangle/raw/security, base chains named like iptables' built-ins (PREROUTING, INPUT, …),
 * rules full of `xt` expressions. Those rules are read from `iptables-save` (or `iptables -S`), so
 * the collectors do not list them through nft (tens of seconds and ~70 MB with 60k kube-proxy
 * chains) and the nft evaluator skips them. {@link isIptablesNftShape} is the one rule for both.
 */
import type { NftFamily } from "../../model/nftables.js";

const IPTABLES_TABLES = new Set(["filter", "nat", "mangle", "raw", "security"]);
const IPTABLES_BUILTINS = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);

/** What is known about a table before (or without) reading its rules. */
export interface NftTableShape {
  family: NftFamily | string;
  name: string;
  /** Names of its base chains (chains with a hook). */
  baseChains: readonly string[];
  /** Whether any rule holds an `xt` expression; unknown (undefined) when the rules were not read. */
  hasXt?: boolean;
}

/**
 * True for a table that iptables-nft manages: family ip/ip6, an iptables table name, and either
 * `xt` expressions in its rules or base chains that all carry iptables' built-in names.
 */
export function isIptablesNftShape(t: NftTableShape): boolean {
  if (t.family !== "ip" && t.family !== "ip6") return false;
  if (!IPTABLES_TABLES.has(t.name)) return false;
  if (t.hasXt === true) return true;
  return t.baseChains.length > 0 && t.baseChains.every((c) => IPTABLES_BUILTINS.has(c));
}

/** One `{"nftables": [...]}` document's items, without decoding anything but that envelope. */
function itemsOf(json: string, what: string): unknown[] {
  const doc: unknown = JSON.parse(json);
  const items = typeof doc === "object" && doc !== null && "nftables" in doc ? doc.nftables : undefined;
  if (!Array.isArray(items)) throw new Error(`${what}: expected {"nftables": [...]}`);
  return items;
}

/** A field of `item[kind]` if it is a string. */
function field(item: unknown, kind: string, key: string): string | undefined {
  if (typeof item !== "object" || item === null || !(kind in item)) return undefined;
  const body: unknown = (item as Record<string, unknown>)[kind];
  if (typeof body !== "object" || body === null) return undefined;
  const v: unknown = (body as Record<string, unknown>)[key];
  return typeof v === "string" ? v : undefined;
}

/**
 * The tables of a netns with their base chains, from `nft -j list tables` and `nft -j list chains`
 * (both small and fast: no rules, no set elements). In the order `list tables` printed them.
 */
export function nftTableShapes(listTablesJson: string, listChainsJson: string): NftTableShape[] {
  const shapes = new Map<string, { family: string; name: string; baseChains: string[] }>();
  for (const item of itemsOf(listTablesJson, "nft -j list tables")) {
    const family = field(item, "table", "family");
    const name = field(item, "table", "name");
    if (family !== undefined && name !== undefined)
      shapes.set(`${family} ${name}`, { family, name, baseChains: [] });
  }
  for (const item of itemsOf(listChainsJson, "nft -j list chains")) {
    const family = field(item, "chain", "family");
    const table = field(item, "chain", "table");
    const name = field(item, "chain", "name");
    if (family === undefined || table === undefined || name === undefined) continue;
    if (field(item, "chain", "hook") === undefined) continue;
    const key = `${family} ${table}`;
    const shape = shapes.get(key) ?? { family, name: table, baseChains: [] };
    shape.baseChains.push(name);
    shapes.set(key, shape);
  }
  return [...shapes.values()];
}

/** Index just past the first element of the top-level `"nftables"` array, and where it starts. */
function firstElement(json: string, what: string): { arrayStart: number; end: number } {
  const key = json.indexOf('"nftables"');
  const arrayStart = key < 0 ? -1 : json.indexOf("[", key);
  if (arrayStart < 0) throw new Error(`${what}: expected {"nftables": [...]}`);
  let depth = 0;
  let inString = false;
  for (let i = arrayStart + 1; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) depth++;
    else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth === 0) return { arrayStart, end: i }; // empty array
      depth--;
      if (depth === 0) return { arrayStart, end: i + 1 };
    }
  }
  throw new Error(`${what}: truncated JSON`);
}

/**
 * Merges `nft -j list table …` outputs into one `{"nftables": [metainfo, …]}` document, as
 * `nft -j list ruleset` would print those tables. Text-only: the (possibly 50 MB) documents are
 * spliced, not decoded. The first document's metainfo is kept, the others' dropped.
 */
export function mergeNftJson(metainfoDoc: string, tableDocs: readonly string[]): string {
  const head = firstElement(metainfoDoc, "nft metainfo");
  const parts = [`{"nftables": [${metainfoDoc.slice(head.arrayStart + 1, head.end).trim()}`];
  for (const doc of tableDocs) {
    const first = firstElement(doc, "nft -j list table");
    const close = doc.lastIndexOf("]");
    const rest = doc.slice(first.end, close).trim(); // ", {table…}, …" (after the metainfo)
    if (rest.startsWith(",")) parts.push(rest);
  }
  parts.push("]}\n");
  return parts.join("");
}

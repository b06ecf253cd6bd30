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
import type { Json, JsonObject } from "../../model/json.js";
import type { NftChain, NftFamily } from "../../model/nftables.js";
import { isObject } from "./narrow.js";
import { chainDeclAt, chainFromJson } from "./parse.js";
import { type NftElementIndex, scanNftElements } from "./scan.js";

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

/** A field of `item[kind]` if it is a string. */
function field(item: unknown, kind: string, key: string): string | undefined {
  if (typeof item !== "object" || item === null || !(kind in item)) return undefined;
  const body: unknown = (item as Record<string, unknown>)[kind];
  if (typeof body !== "object" || body === null) return undefined;
  const v: unknown = (body as Record<string, unknown>)[key];
  return typeof v === "string" ? v : undefined;
}

/**
 * The tables of a netns with their base chains, from `nft -j list chains` (names and hooks: no
 * rules, no set elements, 0.5 s with 60k chains). A table without chains holds nothing a packet
 * meets and is not listed. `nft -j list tables` would name it, but nft 1.0.6 fills its set cache
 * for that (5 s on a 10k-Service kube-proxy table), so it is not used.
 */
export function nftTableShapes(listChainsJson: string): NftTableShape[] {
  return new NftChainListing(listChainsJson).shapes();
}

/**
 * The chain declarations of `nft -j list chains`, indexed by table and name in one pass and decoded
 * when asked for: what a reader of single chains needs to know before it reads any rule (which
 * chains exist, which are base chains, their hooks, priorities and policies).
 */
export class NftChainListing {
  private readonly scan: NftElementIndex;
  /** "family table" → chain name → element index. */
  private readonly byTable = new Map<string, Map<string, number>>();
  private readonly tableShapes = new Map<string, { family: string; name: string; baseChains: string[] }>();

  constructor(readonly json: string) {
    try {
      this.scan = scanNftElements(json);
    } catch (err) {
      throw new Error(`nft -j list chains: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (let i = 0; i < this.scan.kind.length; i++) {
      if (this.scan.kind[i] !== "chain") continue;
      // The common case by pattern (a 60k-chain listing is 6–8 MB: no object per chain), else JSON.
      const decl = chainDeclAt(json, this.scan, i) ?? this.decodeDecl(i);
      if (decl === undefined) continue;
      const key = `${decl.family} ${decl.table}`;
      let shape = this.tableShapes.get(key);
      let names = this.byTable.get(key);
      if (!shape || !names) {
        shape = { family: decl.family, name: decl.table, baseChains: [] };
        names = new Map();
        this.tableShapes.set(key, shape);
        this.byTable.set(key, names);
      }
      if (!names.has(decl.name)) names.set(decl.name, i);
      if (decl.hooked) shape.baseChains.push(decl.name);
    }
  }

  /** Every table that has chains, with the names of its base chains. */
  shapes(): NftTableShape[] {
    return [...this.tableShapes.values()];
  }

  /** Whether the listing declares chain `name` (an index lookup: nothing is decoded). */
  has(family: string, table: string, name: string): boolean {
    return this.byTable.get(`${family} ${table}`)?.has(name) ?? false;
  }

  /** The declaration of chain `name` (handle; type, hook, prio and policy of a base chain), no rules. */
  chain(family: string, table: string, name: string): NftChain | undefined {
    const index = this.byTable.get(`${family} ${table}`)?.get(name);
    if (index === undefined) return undefined;
    const raw: unknown = JSON.parse(this.json.slice(this.scan.start.get(index), this.scan.end.get(index)));
    const body = isObject(raw as Json) ? (raw as JsonObject).chain : undefined;
    if (!isObject(body)) throw new Error(`nft -j list chains: element ${index} is not a chain`);
    return chainFromJson(body, index);
  }

  /** The base chains of a table, declared (no rules). */
  baseChains(family: string, table: string): NftChain[] {
    const shape = this.tableShapes.get(`${family} ${table}`);
    return (shape?.baseChains ?? [])
      .map((n) => this.chain(family, table, n))
      .filter((c): c is NftChain => c !== undefined);
  }

  /** A chain element decoded as JSON, for text the pattern does not take. */
  private decodeDecl(
    i: number,
  ): { family: string; table: string; name: string; hooked: boolean } | undefined {
    const item: unknown = JSON.parse(this.json.slice(this.scan.start.get(i), this.scan.end.get(i)));
    const family = field(item, "chain", "family");
    const table = field(item, "chain", "table");
    const name = field(item, "chain", "name");
    if (family === undefined || table === undefined || name === undefined) return undefined;
    return { family, table, name, hooked: field(item, "chain", "hook") !== undefined };
  }
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

/**
 * Map and verdict-map lookups: `KEY vmap @name`, `KEY vmap { k : verdict, … }`, `KEY map @name`.
 */
import type { Json } from "../../../model/json.js";
import type { NftTable } from "../../../model/nftables.js";
import { isObject, objectAt, soleKey, stringAt } from "../../../parsers/nftables/narrow.js";
import { isUnknown, matchesPattern, type Unknown, type Value } from "./values.js";

/** A map's entries as [key pattern, value] pairs, from a named map (`"@name"`) or an anonymous `{"set":[…]}`. */
export function mapEntries(data: Json | undefined, table: NftTable): Array<[Json, Json]> | Unknown {
  if (typeof data === "string" && data.startsWith("@")) {
    const set = table.sets.get(data.slice(1));
    if (!set) return { unknown: `map ${data} not in table ${table.family} ${table.name}` };
    return set.elements.map((e): [Json, Json] => [e.key, e.value ?? null]);
  }
  if (isObject(data) && Array.isArray(data.set)) {
    const out: Array<[Json, Json]> = [];
    for (const pair of data.set) {
      if (!Array.isArray(pair) || pair.length !== 2) return { unknown: `map entry ${JSON.stringify(pair)}` };
      const [k, v] = pair as [Json, Json];
      out.push([k, v]);
    }
    return out;
  }
  return { unknown: `map data ${JSON.stringify(data)}` };
}

/** The value stored for `key`, undefined on a miss (the rule then ends without a verdict, as in the kernel). */
export function lookup(
  key: Value,
  entries: Array<[Json, Json]>,
  table: NftTable,
): Json | undefined | Unknown {
  let unknown: Unknown | undefined;
  for (const [pattern, value] of entries) {
    const r = matchesPattern(key, pattern, table);
    if (r === true) return value;
    if (isUnknown(r)) unknown ??= r;
  }
  return unknown;
}

/** A verdict as a vmap holds it: `{"goto":{"target":"x"}}`, `{"drop":null}`, … */
export interface Verdict {
  kind: "accept" | "drop" | "reject" | "return" | "continue" | "jump" | "goto";
  target?: string;
}

/** Reads a verdict object; undefined if the JSON is not one. */
export function readVerdict(v: Json | undefined): Verdict | undefined {
  if (!isObject(v)) return undefined;
  const key = soleKey(v);
  switch (key) {
    case "accept":
    case "drop":
    case "return":
    case "continue":
      return { kind: key };
    case "jump":
    case "goto": {
      const body = objectAt(v, key);
      const target = body ? stringAt(body, "target") : undefined;
      return target !== undefined ? { kind: key, target } : undefined;
    }
    default:
      return undefined;
  }
}

/** Narrowing helpers for libnftables JSON (`nft -j`), shared by the nftables parser and evaluator. */
import type { Json, JsonObject } from "../../model/json.js";

/** True for a JSON object (not an array, not null). */
export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The single key of a one-key JSON object such as `{"match":{…}}`, or undefined. */
export function soleKey(v: JsonObject): string | undefined {
  const keys = Object.keys(v);
  return keys.length === 1 ? keys[0] : undefined;
}

/** `o[key]` if it is an object. */
export function objectAt(o: JsonObject, key: string): JsonObject | undefined {
  const v = o[key];
  return isObject(v) ? v : undefined;
}

/** `o[key]` if it is a string. */
export function stringAt(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" ? v : undefined;
}

/** `o[key]` if it is a number. */
export function numberAt(o: JsonObject, key: string): number | undefined {
  const v = o[key];
  return typeof v === "number" ? v : undefined;
}

/** `o[key]` as a list of strings: a lone string becomes a one-element list (nft prints both forms). */
export function stringsAt(o: JsonObject, key: string): string[] {
  const v = o[key];
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

/**
 * kube-proxy's endpoint choice in nftables mode: `numgen random mod N vmap { 0 : goto endpoint-A,
 * 1 : goto endpoint-B, … }`. Each endpoint chain is picked with probability (keys mapping to it)/N;
 * its address is the `dnat to ip:port` inside the endpoint chain.
 */
import type { Json, JsonObject } from "../../../model/json.js";
import type { NftTable } from "../../../model/nftables.js";
import type { EndpointChoice } from "../../../model/trace.js";
import { isObject, numberAt, objectAt, stringAt } from "../../../parsers/nftables/narrow.js";
import { readVerdict } from "./maps.js";
import type { Unknown } from "./values.js";

/** One branch of a numgen vmap. */
export interface NumgenBranch {
  kind: "goto" | "jump";
  chain: string;
  address: string;
  probability: number;
}

/** The branches of `numgen random mod N vmap {…}` in rule order, with their probabilities. */
export function numgenBranches(
  numgen: JsonObject,
  entries: Array<[Json, Json]>,
  table: NftTable,
): NumgenBranch[] | Unknown {
  const mode = stringAt(numgen, "mode");
  const mod = numberAt(numgen, "mod");
  const offset = numberAt(numgen, "offset") ?? 0;
  if (mode !== "random" || mod === undefined || mod <= 0) {
    return { unknown: `numgen ${mode ?? "?"} mod ${mod ?? "?"} (only "random" is modelled)` };
  }
  const counts = new Map<string, { kind: "goto" | "jump"; n: number }>();
  for (const [key, value] of entries) {
    const k = typeof key === "number" ? key - offset : undefined;
    if (k === undefined || k < 0 || k >= mod) continue; // never produced by numgen
    const v = readVerdict(value);
    if (!v || (v.kind !== "goto" && v.kind !== "jump") || v.target === undefined) {
      return { unknown: `numgen vmap value ${JSON.stringify(value)}` };
    }
    const c = counts.get(v.target);
    if (c) c.n++;
    else counts.set(v.target, { kind: v.kind, n: 1 });
  }
  return [...counts].map(([chain, { kind, n }]) => ({
    kind,
    chain,
    address: endpointAddress(table, chain),
    probability: n / mod,
  }));
}

/**
 * The `ip:port` an endpoint chain DNATs to (`meta l4proto tcp dnat to 10.42.4.201:8080`); falls back
 * to the address kube-proxy encodes in the chain name (`…__10.42.4.201/8080`), else the chain name.
 */
export function endpointAddress(table: NftTable, chainName: string): string {
  const chain = table.chains.get(chainName);
  for (const rule of chain?.rules ?? []) {
    for (const stmt of rule.expr) {
      const dnat = objectAt(stmt, "dnat");
      if (!dnat || typeof dnat.addr !== "string") continue;
      const port = numberAt(dnat, "port");
      return port !== undefined ? `${dnat.addr}:${port}` : dnat.addr;
    }
  }
  const m = /__(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(chainName);
  return m ? `${m[1]}:${m[2]}` : chainName;
}

/** Which branch to follow: ctx.endpoint as an index or "ip:port"; default the first. */
export function chooseBranch(
  branches: NumgenBranch[],
  wanted: number | string | undefined,
): { index: number; unknown?: string } {
  if (wanted === undefined) return { index: 0 };
  const index =
    typeof wanted === "number"
      ? wanted >= 0 && wanted < branches.length
        ? wanted
        : -1
      : branches.findIndex((b) => b.address === wanted);
  if (index >= 0) return { index };
  return {
    index: 0,
    unknown: `endpoint ${String(wanted)} is not among ${branches.map((b) => b.address).join(", ")}; followed the first`,
  };
}

/** The branches as the trace model shows them. */
export function toEndpointChoices(branches: NumgenBranch[], chosen: number): EndpointChoice[] {
  return branches.map((b, i) => ({
    address: b.address,
    probability: b.probability,
    via: b.chain,
    chosen: i === chosen,
  }));
}

/** True for a `{"numgen":{…}}` expression. */
export function isNumgen(v: Json | undefined): v is { numgen: JsonObject } {
  return isObject(v) && isObject(v.numgen);
}

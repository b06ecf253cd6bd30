import { describe, expect, test } from "vitest";
import { nftBaseChains } from "../../engine/netfilter/nftables/base-chains.js";
import type { NftChain } from "../../model/nftables.js";
import { hookedChains } from "./lazy-chains.js";
import { parseNftJson } from "./parse.js";
import { testdataFile } from "./testdata/fixtures.js";

const golden = testdataFile("golden-kube-proxy.nft.json");

describe("parseNftJson decodes a large document's chains only when asked for", () => {
  test("indexing decodes no chain and no rule, yet counts them", () => {
    const rs = parseNftJson(golden, { decodeAllBelow: 0 });
    expect(rs.stats()).toEqual({ chainsParsed: 0, rulesParsed: 0 });
    const eager = parseNftJson(golden);
    expect(eager.tables[0]?.chains.size).toBeGreaterThan(0);
    expect(rs.tables[0]?.chains.size).toBe(eager.tables[0]?.chains.size);
    expect([...(rs.tables[0]?.chains.keys() ?? [])]).toEqual([...(eager.tables[0]?.chains.keys() ?? [])]);
    expect(rs.stats()).toEqual({ chainsParsed: 0, rulesParsed: 0 });
  });

  test("get decodes one chain with its rules, once, equal to the eager parse", () => {
    const rs = parseNftJson(golden, { decodeAllBelow: 0 });
    const eager = parseNftJson(golden);
    const name = "services";
    const lazy = rs.tables[0]?.chains.get(name);
    const n = lazy?.rules.length ?? 0;
    expect(n).toBeGreaterThan(0);
    expect(rs.stats()).toEqual({ chainsParsed: 1, rulesParsed: n });
    expect(rs.tables[0]?.chains.get(name)).toBe(lazy);
    expect(rs.stats()).toEqual({ chainsParsed: 1, rulesParsed: n });
    expect(lazy).toEqual(eager.tables[0]?.chains.get(name));
  });

  test("the evaluator's base chains decode the hooked chains only", () => {
    const rs = parseNftJson(golden, { decodeAllBelow: 0 });
    const hooked = [...(parseNftJson(golden).tables[0]?.chains.values() ?? [])].filter((c) => c.hook);
    expect(hooked.length).toBeGreaterThan(0);
    const bases = nftBaseChains(rs)("prerouting");
    expect(bases.length).toBeGreaterThan(0);
    expect(rs.stats().chainsParsed).toBe(hooked.length);
  });

  test("iterating the values decodes every chain in declaration order", () => {
    const rs = parseNftJson(golden, { decodeAllBelow: 0 });
    rs.tables[0]?.chains.get("services");
    const names = [...(rs.tables[0]?.chains.values() ?? [])].map((c) => c.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual([...(parseNftJson(golden).tables[0]?.chains.keys() ?? [])]);
    expect(rs.stats().chainsParsed).toBe(names.length);
  });

  test("a syntax error inside an undecoded rule shows when its chain is asked for", () => {
    const at = golden.indexOf('"expr": [', golden.indexOf('"chain": "services", "handle"')) + 9;
    const broken = `${golden.slice(0, at)},${golden.slice(at)}`;
    const rs = parseNftJson(broken, { decodeAllBelow: 0 });
    expect(rs.stats()).toEqual({ chainsParsed: 0, rulesParsed: 0 });
    expect(() => rs.tables[0]?.chains.get("services")).toThrow(/invalid or truncated JSON/);
  });
});

describe("parseNftJson reads headers by pattern and falls back to JSON for unusual text", () => {
  test("chain and rule names with escapes or non-ASCII parse the same as plain ones", () => {
    const doc = (chain: string) =>
      JSON.stringify({
        nftables: [
          { table: { family: "ip", name: "t", handle: 1 } },
          { chain: { family: "ip", table: "t", name: chain, handle: 2 } },
          { rule: { family: "ip", table: "t", chain, handle: 3, expr: [{ accept: null }] } },
        ],
      })
        .replace(/,"/g, ', "')
        .replace(/":/g, '": ');
    for (const name of ["plain/name", 'quo"te\\', "ünï"]) {
      const rs = parseNftJson(doc(name), { decodeAllBelow: 0 });
      expect(rs.tables[0]?.chains.get(name)?.rules.map((r) => r.text)).toEqual(["accept"]);
    }
  });
});

describe("hookedChains", () => {
  test("asks a chains map that names its base chains, without iterating it", () => {
    const eager = parseNftJson(golden);
    const table = eager.tables[0];
    const pre = table?.chains.get("nat-prerouting");
    if (!table || !pre) throw new Error("golden has no nat-prerouting");
    class ReadOnDemand extends Map<string, NftChain> {
      hookedChains(): NftChain[] {
        return [pre as NftChain];
      }
      override values(): MapIterator<NftChain> {
        throw new Error("a chains map read on demand cannot be iterated");
      }
    }
    expect(hookedChains({ ...table, chains: new ReadOnDemand() })).toEqual([pre]);
  });
});

import { describe, expect, test } from "vitest";
import { isIptablesNftShape, mergeNftJson, NftChainListing, nftTableShapes } from "./tables.js";

const meta =
  '{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}';
const doc = (...items: string[]) => `{"nftables": [${[meta, ...items].join(", ")}]}\n`;

describe("isIptablesNftShape", () => {
  test("an ip/ip6 table named like an iptables table with built-in base chains is iptables-nft's", () => {
    expect(isIptablesNftShape({ family: "ip", name: "nat", baseChains: ["PREROUTING", "POSTROUTING"] })).toBe(
      true,
    );
    expect(isIptablesNftShape({ family: "ip6", name: "filter", baseChains: ["INPUT"] })).toBe(true);
  });
  test("xt expressions mark it even without base chains; native names or families never", () => {
    expect(isIptablesNftShape({ family: "ip", name: "nat", baseChains: [], hasXt: true })).toBe(true);
    expect(isIptablesNftShape({ family: "ip", name: "nat", baseChains: [] })).toBe(false);
    expect(isIptablesNftShape({ family: "ip", name: "nat", baseChains: ["prerouting"] })).toBe(false);
    expect(isIptablesNftShape({ family: "inet", name: "filter", baseChains: ["INPUT"] })).toBe(false);
    expect(isIptablesNftShape({ family: "ip", name: "kube-proxy", baseChains: ["INPUT"], hasXt: true })).toBe(
      false,
    );
  });
});

describe("nftTableShapes", () => {
  test("lists every table that has chains, with the names of its base chains only", () => {
    const chains = doc(
      '{"table": {"family": "ip", "name": "ignored", "handle": 9}}',
      '{"chain": {"family": "ip", "table": "nat", "name": "PREROUTING", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}}',
      '{"chain": {"family": "ip", "table": "nat", "name": "KUBE-SERVICES", "handle": 2}}',
      '{"chain": {"family": "inet", "table": "user", "name": "regular", "handle": 2}}',
      '{"chain": {"family": "ip", "table": "kube-proxy", "name": "nat-prerouting", "handle": 3, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}}',
    );
    expect(nftTableShapes(chains)).toEqual([
      { family: "ip", name: "nat", baseChains: ["PREROUTING"] },
      { family: "inet", name: "user", baseChains: [] },
      { family: "ip", name: "kube-proxy", baseChains: ["nat-prerouting"] },
    ]);
  });
  test("throws on a document that is not nft JSON", () => {
    expect(() => nftTableShapes("{}")).toThrow(/list chains/);
  });
});

describe("NftChainListing", () => {
  const listing = new NftChainListing(
    doc(
      '{"chain": {"family": "ip", "table": "kube-proxy", "name": "services", "handle": 7}}',
      '{"chain": {"family": "ip", "table": "kube-proxy", "name": "nat-prerouting", "handle": 9, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}}',
      '{"chain": {"family": "inet", "table": "kube-proxy", "name": "services", "handle": 3}}',
      // Escapes are not taken by the pattern: decoded as JSON instead.
      '{"chain": {"family": "ip", "table": "kube-proxy", "name": "quo\\"te", "handle": 11}}',
    ),
  );
  test("declares each chain of its own table with its handle, and a base chain with hook, prio and policy", () => {
    expect(listing.chain("ip", "kube-proxy", "services")).toEqual({
      family: "ip",
      table: "kube-proxy",
      name: "services",
      handle: 7,
      rules: [],
    });
    expect(listing.chain("inet", "kube-proxy", "services")?.handle).toBe(3);
    expect(listing.baseChains("ip", "kube-proxy")).toEqual([
      {
        family: "ip",
        table: "kube-proxy",
        name: "nat-prerouting",
        handle: 9,
        type: "nat",
        hook: "prerouting",
        prio: -100,
        policy: "accept",
        rules: [],
      },
    ]);
    expect(listing.chain("ip", "kube-proxy", 'quo"te')?.handle).toBe(11);
  });
  test("knows no chain that the listing does not hold", () => {
    expect(listing.chain("ip", "kube-proxy", "nat-output")).toBeUndefined();
    expect(listing.chain("ip", "other", "services")).toBeUndefined();
    expect(listing.has("ip", "kube-proxy", "services")).toBe(true);
    expect(listing.has("ip", "kube-proxy", "nat-output")).toBe(false);
    expect(listing.has("ip", "other", "services")).toBe(false);
    expect(listing.baseChains("ip", "other")).toEqual([]);
  });
});

describe("mergeNftJson", () => {
  test("splices table listings after one metainfo, as list ruleset prints them", () => {
    const a = doc(
      '{"table": {"family": "inet", "name": "a", "handle": 1}}',
      '{"set": {"name": "s", "elem": [1, "]"]}}',
    );
    const b = doc('{"table": {"family": "ip", "name": "b", "handle": 2}}');
    const merged = mergeNftJson(doc('{"table": {"family": "ip", "name": "nat", "handle": 9}}'), [a, b]);
    expect(JSON.parse(merged)).toEqual({
      nftables: [
        JSON.parse(meta),
        { table: { family: "inet", name: "a", handle: 1 } },
        { set: { name: "s", elem: [1, "]"] } },
        { table: { family: "ip", name: "b", handle: 2 } },
      ],
    });
  });
  test("no tables gives a document with the metainfo alone", () => {
    expect(JSON.parse(mergeNftJson(doc(), []))).toEqual({ nftables: [JSON.parse(meta)] });
  });
});

import { describe, expect, test } from "vitest";
import type { NftChain, NftRuleset, NftSet } from "../../model/nftables.js";
import { ParseError } from "../errors.js";
import { parseNftJson } from "./parse.js";
import { loadCapture, testdataFile } from "./testdata/fixtures.js";

function table(rs: NftRuleset, family: string, name: string) {
  const t = rs.tables.find((x) => x.family === family && x.name === name);
  if (!t) throw new Error(`no table ${family} ${name}`);
  return t;
}
function chain(rs: NftRuleset, name: string, tableName = "kube-proxy"): NftChain {
  const c = table(rs, "ip", tableName).chains.get(name);
  if (!c) throw new Error(`no chain ${name}`);
  return c;
}
function set(rs: NftRuleset, name: string, tableName = "kube-proxy"): NftSet {
  const s = table(rs, "ip", tableName).sets.get(name);
  if (!s) throw new Error(`no set ${name}`);
  return s;
}

describe("parseNftJson on kube-proxy's golden ruleset (captured from the kernel)", () => {
  const rs = loadCapture("golden-kube-proxy");

  test("reads the nft version from metainfo and the kube-proxy table", () => {
    expect(rs.version).toBe("1.0.6");
    expect(rs.tables.map((t) => `${t.family} ${t.name}`)).toEqual(["ip kube-proxy"]);
    // nft 1.0.6 lists the table comment in text but leaves it out of its JSON.
    expect(table(rs, "ip", "kube-proxy").handle).toBe(1);
    expect(table(rs, "ip", "kube-proxy").comment).toBeUndefined();
  });

  test("base chains carry type, hook, priority and policy; regular chains carry none", () => {
    expect(chain(rs, "nat-prerouting")).toMatchObject({
      type: "nat",
      hook: "prerouting",
      prio: -100,
      policy: "accept",
    });
    expect(chain(rs, "filter-prerouting-pre-dnat")).toMatchObject({
      type: "filter",
      hook: "prerouting",
      prio: -110,
    });
    expect(chain(rs, "nat-postrouting")).toMatchObject({ type: "nat", hook: "postrouting", prio: 100 });
    const services = chain(rs, "services");
    expect(services.hook).toBeUndefined();
    expect(services.type).toBeUndefined();
  });

  test("service-ips is a verdict map whose elements are ip . proto . port keys going to service chains", () => {
    const m = set(rs, "service-ips");
    expect(m.kind).toBe("map");
    expect(m.type).toEqual(["ipv4_addr", "inet_proto", "inet_service"]);
    expect(m.map).toBe("verdict");
    expect(m.comment).toBe("ClusterIP, ExternalIP and LoadBalancer IP traffic");
    expect(m.elements).toHaveLength(9);
    expect(m.elements).toContainEqual({
      key: { concat: ["172.30.0.41", "tcp", 80] },
      value: { goto: { target: "service-ULMVA6XW-ns1/svc1/tcp/p80" } },
    });
    expect(m.elements).toContainEqual({
      key: { concat: ["192.168.99.33", "tcp", 80] },
      value: { goto: { target: "external-LAUZTJTB-ns4/svc4/tcp/p80" } },
    });
  });

  test("no-endpoint-services elements keep their comments and verdicts", () => {
    const m = set(rs, "no-endpoint-services");
    expect(m.elements).toContainEqual({
      key: { concat: ["172.30.0.46", "tcp", 80] },
      value: { goto: { target: "reject-chain" } },
      comment: "ns6/svc6:p80",
    });
    expect(m.elements).toContainEqual({
      key: { concat: ["1.2.3.4", "tcp", 80] },
      value: { drop: null },
      comment: "ns2/svc2:p80",
    });
  });

  test("plain sets are kind set with plain keys; the affinity set keeps its flags and timeout", () => {
    const clusterIps = set(rs, "cluster-ips");
    expect(clusterIps.kind).toBe("set");
    expect(clusterIps.elements.map((e) => e.key)).toEqual([
      "172.30.0.41",
      "172.30.0.42",
      "172.30.0.43",
      "172.30.0.44",
      "172.30.0.45",
      "172.30.0.46",
    ]);
    const affinity = set(rs, "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80");
    expect(affinity.flags).toEqual(["timeout"]);
    expect(affinity.timeout).toBe(10800);
    expect(affinity.elements).toEqual([]);
    expect(clusterIps.timeout).toBeUndefined();
  });

  test("rules are in chain order with 1-based index, handle and rendered text", () => {
    const masq = chain(rs, "masquerading");
    expect(masq.rules.map((r) => [r.index, r.text])).toEqual([
      [1, "meta mark & 0x00004000 == 0x00000000 return"],
      [2, "meta mark set meta mark ^ 0x00004000"],
      [3, "masquerade fully-random"],
    ]);
    expect(
      masq.rules.every((r) => r.handle > 0 && r.chain === "masquerading" && r.table === "kube-proxy"),
    ).toBe(true);
  });

  test("a numgen vmap rule names every endpoint chain, and each endpoint chain holds its dnat target", () => {
    const svc4 = chain(rs, "service-LAUZTJTB-ns4/svc4/tcp/p80");
    expect(svc4.rules[1]?.text).toBe(
      "numgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80, 1 : goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 }",
    );
    expect(svc4.rules[1]?.expr[0]).toEqual({
      vmap: {
        key: { numgen: { mode: "random", mod: 2, offset: 0 } },
        data: {
          set: [
            [0, { goto: { target: "endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80" } }],
            [1, { goto: { target: "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80" } }],
          ],
        },
      },
    });
    const ep = chain(rs, "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80");
    expect(ep.rules[1]?.expr).toContainEqual({ dnat: { addr: "10.180.0.5", port: 80 } });
    expect(ep.rules[1]?.text).toBe("meta l4proto tcp dnat to 10.180.0.5:80");
  });

  test("rule comments are kept and rendered after the statements", () => {
    const ext = chain(rs, "external-42NFTM6N-ns2/svc2/tcp/p80");
    expect(ext.rules[0]?.comment).toBe("short-circuit pod traffic");
    expect(ext.rules[0]?.text).toBe(
      'ip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit pod traffic"',
    );
  });
});

describe("parseNftJson on the k3s kube-proxy table (captured from the kernel)", () => {
  const rs = loadCapture("k3s-riset-kube-proxy");

  test("cluster-ips and nodeport-ips hold the cluster's addresses", () => {
    expect(set(rs, "cluster-ips").elements.map((e) => e.key)).toEqual([
      "10.43.0.1",
      "10.43.0.10",
      "10.43.10.165",
      "10.43.21.102",
      "10.43.22.243",
      "10.43.34.64",
      "10.43.195.72",
    ]);
    expect(set(rs, "nodeport-ips").elements).toEqual([{ key: "10.34.4.246" }]);
  });

  test("the 9-endpoint service has a numgen mod 9 vmap and nine endpoint chains with dnat targets", () => {
    const svc = chain(rs, "service-P6J77WGM-riset/hellopod-np-svc/tcp/");
    const vmap = svc.rules[1]?.expr[0]?.vmap;
    if (typeof vmap !== "object" || vmap === null || Array.isArray(vmap)) throw new Error("no vmap");
    const data = vmap.data;
    if (typeof data !== "object" || data === null || Array.isArray(data) || !Array.isArray(data.set)) {
      throw new Error("no anonymous vmap");
    }
    expect(data.set).toHaveLength(9);
    const endpointChains = [...table(rs, "ip", "kube-proxy").chains.keys()].filter(
      (n) => n.startsWith("endpoint-") && n.includes("hellopod-np-svc"),
    );
    expect(endpointChains).toHaveLength(9);
    expect(
      chain(rs, "endpoint-ZWSL4UYY-riset/hellopod-np-svc/tcp/__10.42.5.164/8080").rules[1]?.expr,
    ).toContainEqual({
      dnat: { addr: "10.42.5.164", port: 8080 },
    });
  });

  test("empty maps parse with no elements", () => {
    expect(set(rs, "no-endpoint-nodeports")).toMatchObject({ kind: "map", elements: [] });
  });
});

describe("parseNftJson on sets and maps of other shapes (render-coverage capture)", () => {
  const rs = loadCapture("render-coverage");

  test("a non-verdict map with concat keys, a prefix inside a key and concat values", () => {
    const m = set(rs, "endpoint-dnat", "coverage");
    expect(m.kind).toBe("map");
    expect(m.map).toBe("ipv4_addr . inet_service");
    expect(m.flags).toEqual(["interval"]);
    expect(m.elements).toEqual([
      { key: { concat: ["10.96.0.10", 53] }, value: { concat: ["10.244.1.5", 5353] } },
      {
        key: { concat: [{ prefix: { addr: "10.97.0.0", len: 16 } }, 80] },
        value: { concat: ["10.244.2.6", 8080] },
      },
    ]);
  });

  test("interval sets keep ranges and prefixes; elem wrappers give up their comment", () => {
    expect(set(rs, "ranges", "coverage").elements).toEqual([
      { key: { range: ["10.0.0.1", "10.0.0.9"] } },
      { key: { prefix: { addr: "192.168.0.0", len: 16 } } },
    ]);
    expect(set(rs, "recent", "coverage").elements).toEqual([{ key: "10.244.1.5", comment: "affinity" }]);
  });
});

describe("parseNftJson on a node with iptables-nft tables", () => {
  test("parses the xt-based tables next to flannel's native table", () => {
    const rs = loadCapture("iptables-nft-plus-flannel");
    expect(rs.tables.map((t) => `${t.family} ${t.name}`)).toEqual([
      "ip mangle",
      "ip filter",
      "ip nat",
      "ip flannel-ipv4",
    ]);
    expect(table(rs, "ip", "filter").chains.get("FORWARD")).toMatchObject({
      hook: "forward",
      policy: "drop",
    });
    expect(table(rs, "ip", "filter").chains.get("INPUT")?.rules[0]?.text).toBe(
      'xt match "conntrack" xt match "comment" counter packets 0 bytes 0 jump KUBE-PROXY-FIREWALL',
    );
  });
});

describe("parseNftJson on an element statement after its set", () => {
  test("adds the elements of `element` objects to the set they name", () => {
    const rs = parseNftJson(
      JSON.stringify({
        nftables: [
          { table: { family: "ip", name: "t", handle: 1 } },
          { set: { family: "ip", table: "t", name: "s", handle: 2, type: "ipv4_addr" } },
          {
            element: {
              family: "ip",
              table: "t",
              name: "s",
              elem: ["10.0.0.1", { prefix: { addr: "10.1.0.0", len: 16 } }],
            },
          },
        ],
      }),
    );
    expect(set(rs, "s", "t").elements.map((e) => e.key)).toEqual([
      "10.0.0.1",
      { prefix: { addr: "10.1.0.0", len: 16 } },
    ]);
  });
});

describe("parseNftJson fails loudly on malformed input", () => {
  const golden = testdataFile("golden-kube-proxy.nft.json");

  function parseError(text: string): ParseError {
    try {
      parseNftJson(text);
    } catch (err) {
      if (err instanceof ParseError) return err;
      throw err;
    }
    throw new Error("expected a ParseError");
  }

  test("truncated JSON names the source and the line", () => {
    const err = parseError(golden.slice(0, Math.floor(golden.length / 2)));
    expect(err.source).toBe("nft -j list ruleset");
    expect(err.line).toBe(1);
    expect(err.message).toMatch(/^nft -j list ruleset: line 1: invalid or truncated JSON/);
  });

  test("a multi-line document reports the line of the syntax error", () => {
    const err = parseError('{\n  "nftables": [\n    {"table": {"family": "ip",, "name": "x"}}\n  ]\n}');
    expect(err.line).toBe(3);
  });

  test("a document without the nftables list is rejected", () => {
    expect(parseError('{"tables": []}').detail).toMatch(/expected an object \{"nftables"/);
  });

  test("a rule missing its chain names the element index and the field", () => {
    const doc = JSON.parse(golden) as { nftables: Record<string, Record<string, unknown>>[] };
    const index = doc.nftables.findIndex((o) => o.rule?.chain === "masquerading");
    const rule = doc.nftables[index]?.rule;
    if (!rule) throw new Error("fixture changed");
    delete rule.chain;
    const err = parseError(JSON.stringify(doc));
    expect(err.detail).toBe(`nftables[${index}] (rule): missing or non-string "chain"`);
    expect(err.excerpt).toContain('"handle"');
  });

  test("a chain without handle, a set without type and an unknown family are each named", () => {
    const t = { table: { family: "ip", name: "t", handle: 1 } };
    expect(
      parseError(JSON.stringify({ nftables: [t, { chain: { family: "ip", table: "t", name: "c" } }] }))
        .detail,
    ).toBe('nftables[1] (chain): missing or non-numeric "handle"');
    expect(
      parseError(
        JSON.stringify({ nftables: [t, { set: { family: "ip", table: "t", name: "s", handle: 2 } }] }),
      ).detail,
    ).toBe('nftables[1] (set): missing or invalid "type"');
    expect(
      parseError(JSON.stringify({ nftables: [{ table: { family: "ipx", name: "t", handle: 1 } }] })).detail,
    ).toBe('nftables[0] (table): unknown family "ipx"');
  });

  test("a rule for a chain that was never declared is an error, not a dropped rule", () => {
    const err = parseError(
      JSON.stringify({
        nftables: [
          { table: { family: "ip", name: "t", handle: 1 } },
          { rule: { family: "ip", table: "t", chain: "nope", handle: 3, expr: [{ accept: null }] } },
        ],
      }),
    );
    expect(err.detail).toBe("nftables[1] (rule): refers to chain nope, which was not declared before it");
  });

  test("a map element that is not a [key, value] pair is an error", () => {
    const err = parseError(
      JSON.stringify({
        nftables: [
          { table: { family: "ip", name: "t", handle: 1 } },
          {
            map: {
              family: "ip",
              table: "t",
              name: "m",
              handle: 2,
              type: "ipv4_addr",
              map: "verdict",
              elem: ["10.0.0.1"],
            },
          },
        ],
      }),
    );
    expect(err.detail).toBe("nftables[1] (map): map element 0 is not a [key, value] pair");
  });
});

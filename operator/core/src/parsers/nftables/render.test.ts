import { describe, expect, test } from "vitest";
import type { NftRuleset } from "../../model/nftables.js";
import { formatDuration, renderNftExpr } from "./render.js";
import { type CaptureName, listingRules, loadCapture, testdataFile } from "./testdata/fixtures.js";

/** Tables iptables-nft created: nft's text listing decodes their `xt` matches through libxtables, JSON cannot. */
const XT_TABLES = new Set(["ip mangle", "ip filter", "ip nat"]);

function renderedByChain(rs: NftRuleset): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of rs.tables) {
    if (XT_TABLES.has(`${t.family} ${t.name}`)) continue;
    for (const c of t.chains.values())
      out.set(
        `${t.family} ${t.name}/${c.name}`,
        c.rules.map((r) => r.text),
      );
  }
  return out;
}

describe("renderNftExpr matches nft's own listing of the same captured ruleset", () => {
  const captures: CaptureName[] = [
    "golden-kube-proxy",
    "k3s-riset-kube-proxy",
    "flannel-ipv4",
    "iptables-nft-plus-flannel",
    "render-coverage",
  ];
  test.each(captures)("every rule of %s renders as `nft list ruleset` prints it", (name) => {
    const rendered = renderedByChain(loadCapture(name));
    const listing = listingRules(testdataFile(`${name}.nft.txt`));
    expect(rendered.size).toBeGreaterThan(0);
    for (const [chain, rules] of rendered) expect([chain, rules]).toEqual([chain, listing.get(chain)]);
  });
});

describe("rendered rules equal the lines of the original text fixtures", () => {
  test("k3s: every rule of the kube-proxy table equals its line in `nft list table ip kube-proxy`", () => {
    const rendered = renderedByChain(loadCapture("k3s-riset-kube-proxy"));
    const original = listingRules(testdataFile("k3s-riset-nft-list-table-kube-proxy-full.txt"));
    expect(original.size).toBe(43);
    for (const [chain, rules] of original) expect([chain, rendered.get(chain)]).toEqual([chain, rules]);
    expect(rendered.get("ip kube-proxy/masquerading")).toEqual([
      "meta mark & 0x00004000 == 0x00000000 return",
      "meta mark set meta mark ^ 0x00004000",
      "masquerade fully-random",
    ]);
  });

  test("flannel: postrtg and forward equal the temach listing", () => {
    const rendered = renderedByChain(loadCapture("flannel-ipv4"));
    const original = listingRules(testdataFile("kubeadm-flannel-temach-nft-list-table-flannel-ipv4.txt"));
    expect(rendered).toEqual(original);
    expect(rendered.get("ip flannel-ipv4/postrtg")?.[0]).toBe("meta mark 0x00004000 return");
    expect(rendered.get("ip flannel-ipv4/postrtg")?.[4]).toBe(
      "ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
    );
  });

  test("golden: each `add rule` line equals the rendered rule, up to nft's canonical spelling", () => {
    // The transaction uses input shorthands that nft lists canonically; these are the only differences.
    const canonical = new Map([
      ["mark set mark or 0x4000", "meta mark set meta mark | 0x00004000"],
      ["mark and 0x4000 == 0 return", "meta mark & 0x00004000 == 0x00000000 return"],
      ["mark set mark xor 0x4000", "meta mark set meta mark ^ 0x00004000"],
      ["ip saddr != { 203.0.113.0/25 } drop", "ip saddr != 203.0.113.0/25 drop"],
      ["ip daddr { 172.30.0.0/16 } drop comment", "ip daddr 172.30.0.0/16 drop comment"],
    ]);
    const rendered = renderedByChain(loadCapture("golden-kube-proxy"));
    const seen = new Map<string, number>();
    let compared = 0;
    for (const line of testdataFile("k8s-golden-overall-nftables-transaction.txt").split("\n")) {
      const m = /^add rule ip kube-proxy (\S+) (.*)$/.exec(line);
      if (!m?.[1] || m[2] === undefined) continue;
      const chain = `ip kube-proxy/${m[1]}`;
      const i = seen.get(chain) ?? 0;
      seen.set(chain, i + 1);
      let want = m[2].replace(" , ", ", ");
      for (const [from, to] of canonical) want = want.replace(from, to);
      expect([chain, i, rendered.get(chain)?.[i]]).toEqual([chain, i, want]);
      compared++;
    }
    expect(compared).toBe(57);
  });
});

describe("renderNftExpr statements kube-proxy and flannel write", () => {
  const rs = loadCapture("render-coverage");
  const chain = (name: string) => rs.tables[0]?.chains.get(name)?.rules.map((r) => r.text) ?? [];

  test("NodePort lookup with fib daddr type local", () => {
    expect(chain("services")).toEqual([
      "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
    ]);
  });

  test("dnat through a concat map, dnat without port, snat, masquerade flags", () => {
    expect(chain("prerouting").slice(1)).toEqual([
      "dnat ip to ip daddr . tcp dport map @endpoint-dnat",
      "ip daddr 10.96.0.1 tcp dport 443 dnat to 192.168.1.10",
    ]);
    expect(chain("postrouting")).toEqual([
      'ip saddr 10.244.0.0/16 oifname "eth0" snat to 192.168.1.10',
      "masquerade random,persistent",
    ]);
  });

  test("counter, quoted interface names, ct state/status, log, limit, set update, reject, notrack, mark set", () => {
    expect(chain("prerouting")[0]).toBe('iifname "cni0" counter packets 0 bytes 0 jump services');
    expect(chain("forward")).toEqual([
      "ct state established,related accept",
      "ct status dnat accept",
      'oifname "flannel.1" ip saddr @ranges accept',
      'tcp dport { 22, 80-90 } log prefix "svc " level info drop',
      "limit rate 10/second accept",
      "meta mark 0x00004000 update @recent { ip saddr timeout 3h } accept",
      "ip protocol icmp reject with icmp host-unreachable",
      "tcp flags syn reject with tcp reset",
      "meta mark set 0x00008000",
    ]);
    expect(chain("raw")).toEqual(["udp dport 4789 notrack"]);
  });

  test("the concat dnat form is written out when nft's JSON says so (newer nft: type_flags concat)", () => {
    expect(
      renderNftExpr([
        {
          dnat: {
            family: "ip",
            addr: {
              map: {
                key: {
                  concat: [
                    { payload: { protocol: "ip", field: "daddr" } },
                    { payload: { protocol: "th", field: "dport" } },
                  ],
                },
                data: "@endpoint-dnat",
              },
            },
            type_flags: ["concat"],
          },
        },
      ]),
    ).toBe("dnat ip addr . port to ip daddr . th dport map @endpoint-dnat");
  });

  test("an unknown statement renders as its JSON instead of failing", () => {
    expect(renderNftExpr([{ synproxy: { mss: 1460, wscale: 7 } }, { accept: null }])).toBe(
      '{"synproxy":{"mss":1460,"wscale":7}} accept',
    );
  });

  test("durations print as nft prints them", () => {
    expect(formatDuration(10800)).toBe("3h");
    expect(formatDuration(7199)).toBe("1h59m59s");
    expect(formatDuration(90061)).toBe("1d1h1m1s");
  });
});

import { describe, expect, it } from "vitest";
import { loadCapture } from "../parsers/nftables/testdata/fixtures.js";
import { compareEveryWholeClusterResult, trace } from "./testdata/golden.js";
import { node, topology } from "./testdata/models.js";

compareEveryWholeClusterResult(import.meta.url);

describe("a Service without endpoints in kube-proxy's nftables mode", () => {
  it("is Rejected with SERVICE_NO_ENDPOINTS when the no-endpoint-services vmap sends it to reject-chain", () => {
    const t = topology({ overlay: "vxlan" });
    const host = node(t, 1).host;
    // kube-proxy's golden ruleset: svc6 (172.30.0.46:80) has no endpoints → goto reject-chain.
    host.netfilter = { nftables: loadCapture("golden-kube-proxy") };
    // The node's default route, so the packet is routed and meets the forward hook.
    host.routes.push({
      family: 4,
      type: "unicast",
      table: "main",
      dst: "0.0.0.0/0",
      dev: "eth0",
      gateway: "192.168.0.254",
      flags: [],
    });
    const r = trace({
      nodes: t.nodes,
      facts: t.facts,
      packet: { protocol: "tcp", src: "10.244.1.11", dst: "172.30.0.46", sport: 40000, dport: 80 },
    });
    expect(r.verdict).toBe("Rejected");
    expect(r.findings.map((f) => f.code)).toEqual(["SERVICE_NO_ENDPOINTS"]);
    expect(r.findings[0]?.evidence.map((e) => e.text).join("\n")).toContain("@no-endpoint-services");
    expect(r.hops[r.stoppedAt ?? -1]?.rule).toBe("ip kube-proxy/reject-chain rule 1");
  });
});

describe("a Service with ClientIP session affinity", () => {
  it("its Service hop carries the affinity the nftables step found, and no other hop does", () => {
    const t = topology({ overlay: "vxlan" });
    // kube-proxy's golden ruleset: svc5 (172.30.0.45:80) has sessionAffinity ClientIP.
    node(t, 1).host.netfilter = { nftables: loadCapture("golden-kube-proxy") };
    const r = trace({
      nodes: t.nodes,
      facts: t.facts,
      packet: { protocol: "tcp", src: "10.244.1.11", dst: "172.30.0.45", sport: 40000, dport: 80 },
    });
    const sticky = r.hops.filter((h) => h.affinity);
    expect(sticky.map((h) => h.rule)).toEqual(["ip kube-proxy/service-HVFWP5L3-ns5/svc5/tcp/p80 rule 3"]);
    expect(sticky[0]?.endpoints?.map((e) => e.address)).toEqual(["10.180.0.3:80"]);
    expect(sticky[0]?.affinity).toMatchObject({
      mode: "ClientIP",
      timeoutSeconds: 10800,
      client: "10.244.1.11",
    });
  });
});

import { describe, expect, test } from "vitest";
import type { NftRuleset } from "../../../model/nftables.js";
import type { Packet } from "../../../model/trace.js";
import { loadCapture } from "../../../parsers/nftables/testdata/fixtures.js";
import { newFlow } from "../../testdata/models.js";
import { type HookOutcome, runBaseChains } from "../hooks.js";
import type { BaseChain, ChainOutcome, Hook, NetfilterContext } from "../types.js";
import { nftBaseChains } from "./base-chains.js";
import { MAX_DEPTH } from "./evaluate.js";

const ctx = newFlow;

function base(rs: NftRuleset, hook: Hook, chain: string): BaseChain {
  const b = nftBaseChains(rs)(hook).find((c) => c.chain === chain);
  if (!b) throw new Error(`no base chain ${chain} on ${hook}`);
  return b;
}

/** Runs every base chain of the hook in priority order, as the engine does, carrying NAT and mark. */
function runHook(
  rs: NftRuleset,
  hook: Hook,
  packet: Packet,
  over: Partial<NetfilterContext> = {},
): HookOutcome {
  return runBaseChains(nftBaseChains(rs)(hook), hook, packet, ctx(hook, over));
}

const summary = (o: Pick<ChainOutcome, "steps">) =>
  o.steps.map((s) => [s.chain, s.ruleIndex, s.action, s.target]);

describe("nftBaseChains", () => {
  test("lists kube-proxy's base chains on each hook with their priorities and types", () => {
    const rs = loadCapture("golden-kube-proxy");
    const pre = nftBaseChains(rs)("prerouting").map((c) => [c.table, c.chain, c.priority, c.type]);
    expect(pre).toEqual([
      ["ip kube-proxy", "filter-prerouting-pre-dnat", -110, "filter"],
      ["ip kube-proxy", "nat-prerouting", -100, "nat"],
    ]);
    expect(nftBaseChains(rs)("output").map((c) => [c.chain, c.priority])).toEqual([
      ["filter-output-pre-dnat", -110],
      ["filter-output", 0],
      ["nat-output", -100],
    ]);
  });

  test("skips the tables iptables-nft made and keeps flannel's native table", () => {
    const rs = loadCapture("iptables-nft-plus-flannel");
    expect(nftBaseChains(rs)("postrouting").map((c) => [c.table, c.chain, c.priority, c.type])).toEqual([
      ["ip flannel-ipv4", "postrtg", 100, "nat"],
    ]);
    expect(nftBaseChains(rs)("forward").map((c) => `${c.table}/${c.chain}`)).toEqual([
      "ip flannel-ipv4/forward",
    ]);
  });
});

describe("ClusterIP through kube-proxy's nftables rules", () => {
  const golden = loadCapture("golden-kube-proxy");
  const toSvc4: Packet = { protocol: "tcp", src: "10.0.1.5", sport: 40000, dst: "172.30.0.44", dport: 80 };

  test("service-ips → service chain → numgen with probabilities → endpoint dnat", () => {
    const out = base(golden, "prerouting", "nat-prerouting").evaluate(
      toSvc4,
      ctx("prerouting", { inDev: "cni0" }),
    );
    expect(summary(out)).toEqual([
      ["nat-prerouting", 1, "jump", "services"],
      ["services", 1, "goto", "service-LAUZTJTB-ns4/svc4/tcp/p80"],
      ["service-LAUZTJTB-ns4/svc4/tcp/p80", 2, "goto", "endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80"],
      ["endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80", 2, "dnat", undefined],
    ]);
    expect(out.steps[2]?.endpoints).toEqual([
      {
        address: "10.180.0.4:80",
        probability: 0.5,
        via: "endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80",
        chosen: true,
      },
      {
        address: "10.180.0.5:80",
        probability: 0.5,
        via: "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80",
        chosen: false,
      },
    ]);
    expect(out).toMatchObject({ verdict: "accept", dnat: true, mark: 0 });
    expect(out.packet).toEqual({ ...toSvc4, dst: "10.180.0.4", dport: 80 });
    expect(out.steps[3]?.packet).toEqual(out.packet);
  });

  test("each step carries the rule as evidence and the command that lists its chain", () => {
    const out = base(golden, "prerouting", "nat-prerouting").evaluate(toSvc4, ctx("prerouting"));
    expect(out.steps[1]?.evidence).toEqual({
      source: "nft -j list ruleset",
      text: "ip daddr . meta l4proto . th dport vmap @service-ips",
    });
    expect(out.steps[2]).toMatchObject({
      family: "nftables",
      table: "ip kube-proxy",
      command: "nft list chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80",
    });
    expect(out.steps[3]?.evidence.text).toBe("meta l4proto tcp dnat to 10.180.0.4:80");
  });

  test("a table read object by object names where each chain came from in the evidence", () => {
    const rs = loadCapture("golden-kube-proxy");
    const table = rs.tables[0];
    if (!table) throw new Error("no table");
    table.evidenceSource = (o) => ("chain" in o ? `netlink rules of ${o.chain}` : `netlink set ${o.set}`);
    const out = base(rs, "prerouting", "nat-prerouting").evaluate(toSvc4, ctx("prerouting"));
    expect(out.steps.map((s) => s.evidence.source)).toEqual([
      "netlink rules of nat-prerouting",
      "netlink rules of services",
      "netlink rules of service-LAUZTJTB-ns4/svc4/tcp/p80",
      "netlink rules of endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80",
    ]);
  });

  test("ctx.endpoint picks the endpoint by index or by ip:port", () => {
    const byIndex = base(golden, "prerouting", "nat-prerouting").evaluate(
      toSvc4,
      ctx("prerouting", { endpoint: 1 }),
    );
    expect(byIndex.packet.dst).toBe("10.180.0.5");
    expect(byIndex.steps[2]?.endpoints?.map((e) => e.chosen)).toEqual([false, true]);
    const byAddress = base(golden, "prerouting", "nat-prerouting").evaluate(
      toSvc4,
      ctx("prerouting", { endpoint: "10.180.0.5:80" }),
    );
    expect(byAddress.packet.dst).toBe("10.180.0.5");
    const missing = base(golden, "prerouting", "nat-prerouting").evaluate(
      toSvc4,
      ctx("prerouting", { endpoint: "9.9.9.9:80" }),
    );
    expect(missing.packet.dst).toBe("10.180.0.4");
    expect(missing.unknown).toMatch(/endpoint 9\.9\.9\.9:80 is not among 10\.180\.0\.4:80, 10\.180\.0\.5:80/);
  });

  test("traffic from outside the cluster CIDR is marked for masquerade before the endpoint choice", () => {
    const fromHost: Packet = { ...toSvc4, src: "192.168.0.2" };
    const out = base(golden, "output", "nat-output").evaluate(fromHost, ctx("output"));
    expect(summary(out).slice(2, 4)).toEqual([
      ["service-LAUZTJTB-ns4/svc4/tcp/p80", 1, "jump", "mark-for-masquerade"],
      ["mark-for-masquerade", 1, "mark", undefined],
    ]);
    expect(out.mark).toBe(0x4000);
  });

  test("the 9-endpoint k3s service gives every endpoint 1/9 and DNATs to the chosen one", () => {
    const k3s = loadCapture("k3s-riset-kube-proxy");
    const packet: Packet = {
      protocol: "tcp",
      src: "10.42.0.9",
      sport: 33333,
      dst: "10.43.195.72",
      dport: 8000,
    };
    const out = base(k3s, "prerouting", "nat-prerouting").evaluate(
      packet,
      ctx("prerouting", { endpoint: 8 }),
    );
    const choice = out.steps.find((s) => s.endpoints);
    expect(choice?.endpoints).toHaveLength(9);
    expect(choice?.endpoints?.every((e) => e.probability === 1 / 9)).toBe(true);
    expect(choice?.endpoints?.map((e) => e.address)).toEqual([
      "10.42.2.218:8080",
      "10.42.4.201:8080",
      "10.42.4.202:8080",
      "10.42.4.203:8080",
      "10.42.4.204:8080",
      "10.42.4.205:8080",
      "10.42.4.206:8080",
      "10.42.4.207:8080",
      "10.42.5.164:8080",
    ]);
    expect(out.packet).toMatchObject({ dst: "10.42.5.164", dport: 8080 });
  });

  test("a packet to no Service falls through services and the chain policy accepts it", () => {
    const k3s = loadCapture("k3s-riset-kube-proxy");
    const out = base(k3s, "prerouting", "nat-prerouting").evaluate(
      { protocol: "tcp", src: "10.42.0.9", dst: "10.42.4.201", dport: 8080 },
      ctx("prerouting"),
    );
    expect(summary(out)).toEqual([
      ["nat-prerouting", 1, "jump", "services"],
      ["nat-prerouting", undefined, "policy", undefined],
    ]);
    expect(out.steps[1]?.evidence.text).toBe("type nat hook prerouting priority -100; policy accept;");
    expect(out.dnat).toBeUndefined();
  });
});

describe("NodePort", () => {
  test("k3s: a node IP in nodeport-ips goes through service-nodeports to the external chain, marked for masquerade", () => {
    const k3s = loadCapture("k3s-riset-kube-proxy");
    const packet: Packet = {
      protocol: "tcp",
      src: "192.168.7.7",
      sport: 5555,
      dst: "10.34.4.246",
      dport: 30000,
    };
    const out = base(k3s, "prerouting", "nat-prerouting").evaluate(
      packet,
      ctx("prerouting", { inDev: "eth0" }),
    );
    expect(summary(out).slice(0, 5)).toEqual([
      ["nat-prerouting", 1, "jump", "services"],
      ["services", 2, "goto", "external-P6J77WGM-riset/hellopod-np-svc/tcp/"],
      ["external-P6J77WGM-riset/hellopod-np-svc/tcp/", 1, "jump", "mark-for-masquerade"],
      ["mark-for-masquerade", 1, "mark", undefined],
      [
        "external-P6J77WGM-riset/hellopod-np-svc/tcp/",
        2,
        "goto",
        "service-P6J77WGM-riset/hellopod-np-svc/tcp/",
      ],
    ]);
    expect(out.mark).toBe(0x4000);
    expect(out.packet).toMatchObject({ dst: "10.42.2.218", dport: 8080 });
  });

  test("fib daddr type local: a local address reaches service-nodeports, another does not", () => {
    const rs = loadCapture("render-coverage");
    const packet: Packet = {
      protocol: "tcp",
      src: "192.168.7.7",
      sport: 5555,
      dst: "192.168.1.10",
      dport: 30080,
    };
    const local = base(rs, "prerouting", "prerouting").evaluate(
      packet,
      ctx("prerouting", { inDev: "cni0", localAddresses: new Set(["192.168.1.10"]) }),
    );
    expect(summary(local)).toEqual([
      ["prerouting", 1, "jump", "services"],
      ["services", 1, "goto", "external-svc"],
      ["external-svc", 1, "jump", "mark-for-masquerade"],
      ["mark-for-masquerade", 1, "mark", undefined],
      ["external-svc", 2, "dnat", undefined],
    ]);
    expect(local.packet).toMatchObject({ dst: "10.244.1.5", dport: 8080 });

    const notLocal = base(rs, "prerouting", "prerouting").evaluate(
      packet,
      ctx("prerouting", { inDev: "cni0" }),
    );
    expect(summary(notLocal)).toEqual([
      ["prerouting", 1, "jump", "services"],
      ["prerouting", undefined, "policy", undefined],
    ]);
  });

  test("golden: an external chain short-circuits locally generated traffic with fib saddr type local", () => {
    const golden = loadCapture("golden-kube-proxy");
    const packet: Packet = {
      protocol: "tcp",
      src: "192.168.0.2",
      sport: 5555,
      dst: "192.168.0.2",
      dport: 3001,
    };
    const out = base(golden, "output", "nat-output").evaluate(
      packet,
      ctx("output", { localAddresses: new Set(["192.168.0.2"]) }),
    );
    expect(summary(out).slice(1, 5)).toEqual([
      ["services", 2, "goto", "external-42NFTM6N-ns2/svc2/tcp/p80"],
      ["external-42NFTM6N-ns2/svc2/tcp/p80", 2, "jump", "mark-for-masquerade"],
      ["mark-for-masquerade", 1, "mark", undefined],
      ["external-42NFTM6N-ns2/svc2/tcp/p80", 3, "goto", "service-42NFTM6N-ns2/svc2/tcp/p80"],
    ]);
    expect(out.packet).toMatchObject({ dst: "10.180.0.2", dport: 80 });
  });
});

describe("masquerade", () => {
  const golden = loadCapture("golden-kube-proxy");
  const afterDnat: Packet = {
    protocol: "tcp",
    src: "192.168.0.2",
    sport: 5555,
    dst: "10.180.0.4",
    dport: 80,
  };

  test("kube-proxy masquerades a packet carrying mark 0x4000 and clears the mark", () => {
    const out = base(golden, "postrouting", "nat-postrouting").evaluate(
      afterDnat,
      ctx("postrouting", { mark: 0x4000, outDev: "eth0", ctDnat: true }),
    );
    expect(summary(out)).toEqual([
      ["nat-postrouting", 1, "jump", "masquerading"],
      ["masquerading", 2, "mark", undefined],
      ["masquerading", 3, "masquerade", undefined],
    ]);
    expect(out).toMatchObject({ verdict: "accept", snat: true, mark: 0 });
    expect(out.steps[2]?.evidence.text).toBe("masquerade fully-random");
  });

  test("without the mark, masquerading returns and the policy accepts", () => {
    const out = base(golden, "postrouting", "nat-postrouting").evaluate(
      afterDnat,
      ctx("postrouting", { outDev: "eth0" }),
    );
    expect(summary(out)).toEqual([
      ["nat-postrouting", 1, "jump", "masquerading"],
      ["masquerading", 1, "return", undefined],
      ["nat-postrouting", undefined, "policy", undefined],
    ]);
    expect(out.snat).toBeUndefined();
  });

  test("flannel masquerades pod traffic leaving the cluster and returns on kube-proxy's mark", () => {
    const rs = loadCapture("iptables-nft-plus-flannel");
    const toInternet: Packet = {
      protocol: "tcp",
      src: "10.244.1.7",
      sport: 40000,
      dst: "93.184.216.34",
      dport: 443,
    };
    const out = runHook(rs, "postrouting", toInternet, { outDev: "eth0" });
    expect(summary(out)).toEqual([["postrtg", 5, "masquerade", undefined]]);
    expect(out.steps[0]?.evidence.text).toBe(
      "ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
    );
    const marked = runHook(rs, "postrouting", toInternet, { outDev: "eth0", mark: 0x4000 });
    expect(summary(marked)).toEqual([
      ["postrtg", 1, "return", undefined],
      ["postrtg", undefined, "policy", undefined],
    ]);
  });
});

describe("Service without endpoints", () => {
  test("golden: no-endpoint-services sends svc6 to reject-chain and the packet is rejected", () => {
    const golden = loadCapture("golden-kube-proxy");
    const packet: Packet = { protocol: "tcp", src: "10.0.1.5", sport: 40000, dst: "172.30.0.46", dport: 80 };
    const out = runHook(golden, "forward", packet, { inDev: "cni0", outDev: "eth0" });
    expect(out.verdict).toBe("reject");
    expect(summary(out)).toEqual([
      ["filter-forward", 1, "jump", "service-endpoints-check"],
      ["service-endpoints-check", 1, "goto", "reject-chain"],
      ["reject-chain", 1, "reject", undefined],
    ]);
    expect(out.steps[1]?.evidence.text).toBe("ip daddr . meta l4proto . th dport vmap @no-endpoint-services");
  });

  test("k3s: the otel collector's ClusterIP without endpoints is rejected on output", () => {
    const k3s = loadCapture("k3s-riset-kube-proxy");
    const packet: Packet = {
      protocol: "tcp",
      src: "10.34.4.246",
      sport: 40000,
      dst: "10.43.21.102",
      dport: 4318,
    };
    const out = runHook(k3s, "output", packet, { outDev: "eth0" });
    expect(out.verdict).toBe("reject");
    expect(summary(out).at(-1)).toEqual(["reject-chain", 1, "reject", undefined]);
  });

  test("golden: an ExternalIP with no endpoints is dropped by its vmap verdict", () => {
    const golden = loadCapture("golden-kube-proxy");
    const packet: Packet = { protocol: "tcp", src: "203.0.113.9", sport: 40000, dst: "1.2.3.4", dport: 80 };
    const out = runHook(golden, "input", packet, { inDev: "eth0" });
    expect(out.verdict).toBe("drop");
    expect(summary(out).at(-1)).toEqual(["service-endpoints-check", 1, "drop", undefined]);
  });

  test("a ClusterIP on a port no Service has is rejected by cluster-ips-check", () => {
    const golden = loadCapture("golden-kube-proxy");
    const packet: Packet = { protocol: "tcp", src: "10.0.1.5", sport: 40000, dst: "172.30.0.41", dport: 81 };
    const out = runHook(golden, "forward", packet, { inDev: "cni0", outDev: "eth0" });
    expect(out.verdict).toBe("reject");
    expect(out.steps.at(-1)?.evidence.text).toBe(
      'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
    );
  });
});

describe("unknowns and bounds", () => {
  test("an expression the evaluator does not know makes its rule not match and is named", () => {
    const rs = loadCapture("render-coverage");
    const out = base(rs, "forward", "forward").evaluate(
      { protocol: "tcp", src: "10.244.1.5", sport: 1000, dst: "10.96.0.1", dport: 443 },
      ctx("forward", { inDev: "cni0", outDev: "eth0", ctState: "new", mark: 0 }),
    );
    // ct state new is not established,related; no ct status dnat; oifname is eth0; tcp dport 443 is
    // outside { 22, 80-90 }; `limit rate 10/second accept` matches the one traced packet.
    expect(summary(out)).toEqual([["forward", 5, "accept", undefined]]);
    expect(out.unknown).toBeUndefined();

    const mutated = structuredClone(rs);
    const forward = mutated.tables[0]?.chains.get("forward");
    forward?.rules.unshift({
      ...(forward.rules[0] ?? { family: "ip", table: "coverage", chain: "forward", handle: 99, text: "" }),
      index: 0,
      expr: [{ match: { op: "==", left: { meta: { key: "skuid" } }, right: 0 } }, { drop: null }],
      text: "meta skuid 0 drop",
    });
    const withUnknown = base(mutated, "forward", "forward").evaluate(
      { protocol: "tcp", src: "10.244.1.5", sport: 1000, dst: "10.96.0.1", dport: 443 },
      ctx("forward", { inDev: "cni0", outDev: "eth0" }),
    );
    expect(withUnknown.verdict).toBe("accept");
    expect(withUnknown.unknown).toBe("ip coverage forward rule 0: meta skuid");
  });

  test("xt expressions are unknown when they appear in a table that is evaluated", () => {
    const rs = loadCapture("iptables-nft-plus-flannel");
    const filter = rs.tables.find((t) => t.name === "filter");
    if (!filter) throw new Error("fixture changed");
    const renamed: NftRuleset = { tables: [{ ...filter, name: "filter2" }] };
    const out = base(renamed, "input", "INPUT").evaluate(
      { protocol: "tcp", src: "10.244.1.5", sport: 1000, dst: "10.0.0.1", dport: 22 },
      ctx("input", { inDev: "eth0" }),
    );
    expect(out.unknown).toContain("ip filter2 INPUT rule 1: statement xt");
  });

  test("a jump loop stops at the depth bound and reports it", () => {
    const rs = structuredClone(loadCapture("golden-kube-proxy"));
    const masq = rs.tables[0]?.chains.get("mark-for-masquerade");
    if (!masq) throw new Error("fixture changed");
    masq.rules = [
      {
        ...masq.rules[0],
        index: 1,
        handle: 999,
        expr: [{ jump: { target: "mark-for-masquerade" } }],
        text: "jump mark-for-masquerade",
      } as (typeof masq.rules)[number],
    ];
    const out = base(rs, "output", "nat-output").evaluate(
      { protocol: "tcp", src: "192.168.0.2", sport: 5555, dst: "172.30.0.44", dport: 80 },
      ctx("output"),
    );
    expect(out.verdict).toBe("accept");
    expect(out.unknown).toBe(`jump depth exceeds ${MAX_DEPTH} at chain mark-for-masquerade`);
    // nat-output (depth 0) → services (1) → service chain (2) → mark-for-masquerade at depths 3..64.
    expect(out.steps.filter((s) => s.chain === "mark-for-masquerade")).toHaveLength(MAX_DEPTH - 2);
  });
});

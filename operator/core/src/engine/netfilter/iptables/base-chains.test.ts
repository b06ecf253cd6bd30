import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { IpSet } from "../../../model/ipvs.js";
import type { Packet } from "../../../model/trace.js";
import { parseIptablesSave } from "../../../parsers/iptables/save.js";
import { parseIpsetSave } from "../../../parsers/ipvs/ipset.js";
import { newFlow, tcp } from "../../testdata/models.js";
import { type HookOutcome, runBaseChains } from "../hooks.js";
import type { BaseChainSource, Hook, NetfilterContext } from "../types.js";
import { iptablesBaseChains } from "./base-chains.js";

const testdata = (dir: string, name: string) =>
  readFileSync(new URL(`../../../parsers/${dir}/testdata/${name}`, import.meta.url), "utf8");

// Real dumps of this kernel: the kube-proxy golden rules restored with iptables-nft-restore.
const golden = iptablesBaseChains(parseIptablesSave(testdata("iptables", "captured-golden-nfacct-nft.txt")));
const cleanup = iptablesBaseChains(
  parseIptablesSave(testdata("iptables", "captured-golden-cleanup-nft.txt")),
);
const kubeadm = iptablesBaseChains(parseIptablesSave(testdata("iptables", "captured-kubeadm-nft.txt")));

const NODE_IP = "192.168.99.1";
const POD = "10.0.1.5";

/** Runs one hook the way the engine does (runBaseChains), on a node whose address is NODE_IP. */
function runHook(
  source: BaseChainSource,
  hook: Hook,
  packet: Packet,
  ctx: Partial<NetfilterContext> = {},
): HookOutcome {
  return runBaseChains(
    source(hook),
    hook,
    packet,
    newFlow(hook, { localAddresses: new Set([NODE_IP]), ...ctx }),
  );
}

const path = (r: HookOutcome) =>
  r.steps.map(
    (s) => `${s.table}/${s.chain}#${s.ruleIndex ?? "P"} ${s.action}${s.target ? ` ${s.target}` : ""}`,
  );

describe("iptablesBaseChains: hooks and priorities", () => {
  it("lists the built-in chains a dump has on each hook, with netfilter's priorities", () => {
    const pre = golden("prerouting").map((c) => `${c.table}/${c.chain} ${c.priority} ${c.type}`);
    expect(pre).toEqual(["nat/PREROUTING -100 nat"]);
    const out = kubeadm("output").map((c) => `${c.table}/${c.chain} ${c.priority} ${c.type}`);
    expect(out).toEqual(["mangle/OUTPUT -150 route", "nat/OUTPUT -100 nat", "filter/OUTPUT 0 filter"]);
    expect(kubeadm("postrouting").map((c) => c.priority)).toEqual([-150, 100]);
    expect(kubeadm("input").map((c) => `${c.table} ${c.priority}`)).toEqual([
      "mangle -150",
      "filter 0",
      "nat 100",
    ]);
  });
});

describe("ClusterIP through kube-proxy's nat chains", () => {
  it("one endpoint: KUBE-SERVICES → KUBE-SVC → KUBE-SEP DNAT, every jump a step with its rule as evidence", () => {
    const r = runHook(golden, "prerouting", tcp(POD, "172.30.0.41", 80), { inDev: "cni0" });
    expect(path(r)).toEqual([
      "nat/PREROUTING#1 jump KUBE-SERVICES",
      "nat/KUBE-SERVICES#1 jump KUBE-SVC-XPGD46QRK7WJZT7O",
      "nat/KUBE-SVC-XPGD46QRK7WJZT7O#2 jump KUBE-SEP-SXIVWICOYRO3J4NJ",
      "nat/KUBE-SEP-SXIVWICOYRO3J4NJ#2 dnat",
    ]);
    expect(r.verdict).toBe("accept");
    expect(r.dnat).toBe(true);
    expect(r.packet).toEqual({ protocol: "tcp", src: POD, dst: "10.180.0.1", sport: 40000, dport: 80 });
    const svc = r.steps[2];
    expect(svc?.endpoints).toEqual([
      { address: "10.180.0.1:80", probability: 1, via: "KUBE-SEP-SXIVWICOYRO3J4NJ", chosen: true },
    ]);
    expect(svc?.evidence).toEqual({
      source: "iptables-save",
      text: '[0:0] -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ',
      line: 118,
    });
    expect(svc?.command).toBe("iptables -t nat -S KUBE-SVC-XPGD46QRK7WJZT7O");
    expect(r.steps[3]?.packet?.dst).toBe("10.180.0.1");
    expect(r.mark).toBe(0); // a pod source inside 10.0.0.0/8 is not masqueraded
    expect(r.unknown).toEqual([]);
  });

  it("three endpoints (0.33333333349, 0.5, rest): each 1/3, the first followed by default", () => {
    const r = runHook(kubeadm, "prerouting", tcp("10.244.0.7", "10.108.64.11", 8080));
    const choice = r.steps.find((s) => s.endpoints)?.endpoints ?? [];
    expect(choice.map((e) => e.address)).toEqual(["10.244.1.4:8080", "10.244.1.5:8080", "10.244.1.6:8080"]);
    for (const e of choice) expect(e.probability).toBeCloseTo(1 / 3, 9);
    expect(choice.reduce((a, e) => a + e.probability, 0)).toBeCloseTo(1, 12);
    expect(choice.map((e) => e.chosen)).toEqual([true, false, false]);
    expect(r.packet.dst).toBe("10.244.1.4");
    expect(r.packet.dport).toBe(8080);
  });

  it("follows the endpoint ctx.endpoint names, by address or by index; other branches are not walked", () => {
    const byAddr = runHook(kubeadm, "prerouting", tcp("10.244.0.7", "10.108.64.11", 8080), {
      endpoint: "10.244.1.6:8080",
    });
    expect(byAddr.packet.dst).toBe("10.244.1.6");
    expect(byAddr.steps.filter((s) => s.chain.startsWith("KUBE-SEP-")).map((s) => s.chain)).toEqual([
      "KUBE-SEP-DQ3TQJSNULRJFVPB",
    ]);
    const step = byAddr.steps.find((s) => s.endpoints);
    expect(step?.ruleIndex).toBe(4);
    expect(step?.endpoints?.find((e) => e.chosen)?.address).toBe("10.244.1.6:8080");
    const byIndex = runHook(kubeadm, "prerouting", tcp("10.244.0.7", "10.108.64.11", 8080), { endpoint: 1 });
    expect(byIndex.packet.dst).toBe("10.244.1.5");
  });

  it("says so when the requested endpoint is not one of the Service's", () => {
    const r = runHook(golden, "prerouting", tcp(POD, "172.30.0.44", 80), { endpoint: "10.9.9.9:80" });
    expect(r.unknown[0]).toMatch(
      /endpoint 10.9.9.9:80 is not one of KUBE-SVC-4SW47YFZTEDKD3PK's endpoints \(10.180.0.4:80, 10.180.0.5:80\)/,
    );
    expect(r.packet.dst).toBe("10.180.0.4");
  });

  it("two endpoints at 0.5: each one half", () => {
    const r = runHook(golden, "prerouting", tcp(POD, "172.30.0.44", 80), { endpoint: 1 });
    expect(
      r.steps.find((s) => s.endpoints)?.endpoints?.map((e) => [e.address, e.probability, e.chosen]),
    ).toEqual([
      ["10.180.0.4:80", 0.5, false],
      ["10.180.0.5:80", 0.5, true],
    ]);
    expect(r.packet.dst).toBe("10.180.0.5");
  });

  it("a source outside the cluster CIDR is marked for masquerade (KUBE-MARK-MASQ 0x4000)", () => {
    const r = runHook(golden, "output", tcp(NODE_IP, "172.30.0.41", 80));
    expect(path(r).slice(0, 4)).toEqual([
      "nat/OUTPUT#1 jump KUBE-SERVICES",
      "nat/KUBE-SERVICES#1 jump KUBE-SVC-XPGD46QRK7WJZT7O",
      "nat/KUBE-SVC-XPGD46QRK7WJZT7O#1 jump KUBE-MARK-MASQ",
      "nat/KUBE-MARK-MASQ#1 mark",
    ]);
    expect(r.mark).toBe(0x4000);
    expect(r.packet.dst).toBe("10.180.0.1");
  });
});

describe("session affinity (-m recent)", () => {
  it("a first packet has no recent entry: the rcheck rule does not match, the endpoint rule sets one", () => {
    const r = runHook(golden, "prerouting", tcp(POD, "172.30.0.45", 80));
    expect(path(r)).toEqual([
      "nat/PREROUTING#1 jump KUBE-SERVICES",
      "nat/KUBE-SERVICES#8 jump KUBE-SVC-NUKIZ6OKUXPJNT4C",
      "nat/KUBE-SVC-NUKIZ6OKUXPJNT4C#3 jump KUBE-SEP-I77PXRDZVX7PMWMN",
      "nat/KUBE-SEP-I77PXRDZVX7PMWMN#2 dnat",
    ]);
    // The affinity rule (rule 2) is not an endpoint of its own: the one endpoint has probability 1.
    expect(r.steps[2]?.endpoints).toEqual([
      { address: "10.180.0.3:80", probability: 1, via: "KUBE-SEP-I77PXRDZVX7PMWMN", chosen: true },
    ]);
    expect(r.steps[3]?.evidence.text).toContain("-m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN");
    expect(r.packet.dst).toBe("10.180.0.3");
  });
});

describe("NodePort and masquerade", () => {
  it("node IP:3003 → KUBE-NODEPORTS via dst-type LOCAL → KUBE-EXT masquerade mark → DNAT", () => {
    const r = runHook(golden, "prerouting", tcp("203.0.113.200", NODE_IP, 3003), { inDev: "eth0" });
    expect(path(r)).toEqual([
      "nat/PREROUTING#1 jump KUBE-SERVICES",
      "nat/KUBE-SERVICES#10 jump KUBE-NODEPORTS",
      "nat/KUBE-NODEPORTS#4 jump KUBE-EXT-X27LE4BHSL4DOUIK",
      "nat/KUBE-EXT-X27LE4BHSL4DOUIK#1 jump KUBE-MARK-MASQ",
      "nat/KUBE-MARK-MASQ#1 mark",
      "nat/KUBE-EXT-X27LE4BHSL4DOUIK#2 jump KUBE-SVC-X27LE4BHSL4DOUIK",
      "nat/KUBE-SVC-X27LE4BHSL4DOUIK#2 jump KUBE-SEP-OYPFS5VJICHGATKP",
      "nat/KUBE-SEP-OYPFS5VJICHGATKP#2 dnat",
    ]);
    expect(r.mark).toBe(0x4000);
    expect(r.packet).toMatchObject({ dst: "10.180.0.3", dport: 80 });
  });

  it("the NodePort does not match a destination that is not local", () => {
    const r = runHook(golden, "prerouting", tcp("203.0.113.200", "192.168.99.77", 3003));
    expect(r.dnat).toBe(false);
    expect(path(r)).toEqual(["nat/PREROUTING#1 jump KUBE-SERVICES", "nat/PREROUTING#P policy"]);
  });

  it("POSTROUTING: KUBE-POSTROUTING clears the 0x4000 mark and masquerades", () => {
    const r = runHook(golden, "postrouting", tcp("203.0.113.200", "10.180.0.3", 80), {
      mark: 0x4000,
      outDev: "cni0",
      ctDnat: true,
    });
    expect(path(r)).toEqual([
      "nat/POSTROUTING#1 jump KUBE-POSTROUTING",
      "nat/KUBE-POSTROUTING#2 mark",
      "nat/KUBE-POSTROUTING#3 masquerade",
    ]);
    expect(r.mark).toBe(0);
    expect(r.snat).toBe(true);
  });

  it("POSTROUTING without the mark returns from KUBE-POSTROUTING and the policy accepts", () => {
    const r = runHook(golden, "postrouting", tcp(POD, "10.180.0.3", 80), { outDev: "cni0" });
    expect(path(r)).toEqual([
      "nat/POSTROUTING#1 jump KUBE-POSTROUTING",
      "nat/KUBE-POSTROUTING#1 return",
      "nat/POSTROUTING#P policy",
    ]);
    expect(r.steps[2]?.evidence).toEqual({
      source: "iptables-save",
      text: ":POSTROUTING ACCEPT [0:0]",
      line: 40,
    });
    expect(r.snat).toBe(false);
  });

  it("nat chains see only a connection's first packet", () => {
    const r = runHook(golden, "prerouting", tcp(POD, "172.30.0.41", 80), { ctState: "established" });
    expect(r.steps).toEqual([]);
    expect(r.dnat).toBe(false);
  });
});

describe("LoadBalancer IP with loadBalancerSourceRanges (KUBE-FW)", () => {
  it("an allowed source goes KUBE-FW → KUBE-EXT → KUBE-SVC → DNAT", () => {
    const r = runHook(golden, "prerouting", tcp("203.0.113.5", "5.6.7.8", 80), { inDev: "eth0" });
    expect(path(r)).toEqual([
      "nat/PREROUTING#1 jump KUBE-SERVICES",
      "nat/KUBE-SERVICES#9 jump KUBE-FW-NUKIZ6OKUXPJNT4C",
      "nat/KUBE-FW-NUKIZ6OKUXPJNT4C#1 jump KUBE-EXT-NUKIZ6OKUXPJNT4C",
      "nat/KUBE-EXT-NUKIZ6OKUXPJNT4C#1 jump KUBE-MARK-MASQ",
      "nat/KUBE-MARK-MASQ#1 mark",
      "nat/KUBE-EXT-NUKIZ6OKUXPJNT4C#2 jump KUBE-SVC-NUKIZ6OKUXPJNT4C",
      "nat/KUBE-SVC-NUKIZ6OKUXPJNT4C#3 jump KUBE-SEP-I77PXRDZVX7PMWMN",
      "nat/KUBE-SEP-I77PXRDZVX7PMWMN#2 dnat",
    ]);
  });

  it("another source falls through KUBE-FW untranslated and KUBE-PROXY-FIREWALL drops it", () => {
    const nat = runHook(golden, "prerouting", tcp("198.51.100.9", "5.6.7.8", 80), { inDev: "eth0" });
    expect(nat.dnat).toBe(false);
    expect(path(nat).at(-1)).toBe("nat/PREROUTING#P policy");
    const fwd = runHook(golden, "forward", nat.packet, { inDev: "eth0", outDev: "eth1" });
    expect(fwd.verdict).toBe("drop");
    expect(path(fwd)).toEqual([
      "filter/FORWARD#1 jump KUBE-PROXY-FIREWALL",
      "filter/KUBE-PROXY-FIREWALL#1 drop",
    ]);
    expect(fwd.steps[1]?.evidence.text).toContain("traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C");
  });
});

describe("filter verdicts", () => {
  it("a Service without endpoints is rejected by kube-proxy's 'has no endpoints' rule (forward)", () => {
    const r = runHook(golden, "forward", tcp(POD, "172.30.0.46", 80), { inDev: "cni0", outDev: "eth0" });
    expect(r.verdict).toBe("reject");
    const last = r.steps[r.steps.length - 1];
    expect(last).toMatchObject({ table: "filter", chain: "KUBE-SERVICES", ruleIndex: 1, action: "reject" });
    expect(last?.evidence.text).toContain('"ns6/svc6:p80 has no endpoints"');
    expect(path(r)).toEqual([
      "filter/FORWARD#1 jump KUBE-PROXY-FIREWALL",
      "filter/FORWARD#2 jump KUBE-FORWARD",
      "filter/FORWARD#3 jump KUBE-SERVICES",
      "filter/KUBE-SERVICES#1 reject",
    ]);
  });

  it("the same from the node itself (output hook)", () => {
    const r = runHook(golden, "output", tcp(NODE_IP, "172.30.0.46", 80), { outDev: "eth0" });
    expect(r.verdict).toBe("reject");
  });

  it("someone else's DROP in FORWARD stops the packet, with the rule as evidence", () => {
    const r = runHook(cleanup, "forward", tcp("1.2.3.4", "10.180.0.1", 80), {
      inDev: "eth0",
      outDev: "cni0",
    });
    expect(r.verdict).toBe("drop");
    // mangle FORWARD (priority -150) runs first: nothing matches, its ACCEPT policy passes it on.
    expect(path(r)).toEqual(["mangle/FORWARD#P policy", "filter/FORWARD#1 drop"]);
    expect(r.steps[1]).toMatchObject({ table: "filter", chain: "FORWARD", ruleIndex: 1, action: "drop" });
    expect(r.steps[1]?.evidence.text).toBe(
      '[0:0] -A FORWARD -s 1.2.3.4/32 -m comment --comment "someone else\\\'s forward rule" -j DROP',
    );
  });

  it("KUBE-FORWARD accepts marked traffic; the policy accepts the rest", () => {
    const marked = runHook(golden, "forward", tcp("203.0.113.200", "10.180.0.3", 80), {
      inDev: "eth0",
      outDev: "cni0",
      mark: 0x4000,
    });
    expect(path(marked)).toEqual([
      "filter/FORWARD#1 jump KUBE-PROXY-FIREWALL",
      "filter/FORWARD#2 jump KUBE-FORWARD",
      "filter/KUBE-FORWARD#2 accept",
    ]);
    const plain = runHook(golden, "forward", tcp(POD, "10.180.0.3", 80), { inDev: "cni0", outDev: "cni0" });
    expect(plain.verdict).toBe("accept");
    expect(path(plain).at(-1)).toBe("filter/FORWARD#P policy");
  });

  it("the DROP policy of a real kubeadm node's FORWARD decides when nothing accepts", () => {
    const r = runHook(kubeadm, "forward", tcp("192.168.5.5", "192.168.6.6", 22), {
      inDev: "eth0",
      outDev: "eth1",
    });
    expect(r.verdict).toBe("drop");
    expect(r.steps.at(-1)).toMatchObject({ chain: "FORWARD", action: "policy" });
    expect(r.steps.at(-1)?.evidence.text).toBe(":FORWARD DROP [0:0]");
  });

  it("a device match needs the device: unknown says which rule, and the rule does not match", () => {
    const r = runHook(kubeadm, "forward", tcp("172.17.0.2", "192.168.6.6", 22), {});
    expect(r.unknown[0]).toMatch(
      /^filter\/DOCKER-ISOLATION-STAGE-1 rule 1 \(line \d+\): -i docker0: the input device is not known here; the rule is treated as not matching$/,
    );
  });
});

describe("unknown modules, ipsets and bounds", () => {
  const ruleset = (body: string) =>
    iptablesBaseChains(
      parseIptablesSave(
        `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${body}\nCOMMIT\n`,
      ),
    );

  it("an unknown match module is named with its rule and treated as not matching", () => {
    const src = ruleset("-A OUTPUT -m owner --uid-owner 0 -j DROP\n-A OUTPUT -p tcp --dport 80 -j ACCEPT");
    const r = runHook(src, "output", tcp(NODE_IP, "10.0.0.1", 80), { outDev: "eth0" });
    expect(r.unknown).toEqual([
      "filter/OUTPUT rule 1 (line 5): -m owner (match module not modelled); the rule is treated as not matching",
    ]);
    expect(r.verdict).toBe("accept");
    expect(path(r)).toEqual(["filter/OUTPUT#2 accept"]);
  });

  it("a jump loop is cut at depth 64 and reported, not followed forever", () => {
    const src = ruleset(":A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A");
    const r = runHook(src, "input", tcp("10.0.0.2", NODE_IP, 22), { inDev: "eth0" });
    expect(r.unknown[0]).toMatch(/more than 64 nested jumps \(a jump loop\?\)/);
    expect(r.steps.length).toBeLessThanOrEqual(66);
    expect(r.verdict).toBe("accept");
  });

  it("a goto does not come back to the chain that jumped", () => {
    const src = ruleset(":A - [0:0]\n-A INPUT -g A\n-A INPUT -j DROP\n-A A -p udp -j DROP");
    const r = runHook(src, "input", tcp("10.0.0.2", NODE_IP, 22), { inDev: "eth0" });
    expect(path(r)).toEqual(["filter/INPUT#1 goto A", "filter/INPUT#P policy"]);
    expect(r.verdict).toBe("accept");
  });

  it("IPVS-mode rules with -m set decide with the ipsets, and say when ipsets are missing", () => {
    const body =
      ":KUBE-SERVICES - [0:0]\n-A OUTPUT -j KUBE-SERVICES\n" +
      '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\n' +
      "-A KUBE-SERVICES -j REJECT";
    const text = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${body}\nCOMMIT\n`;
    const sets: IpSet[] = parseIpsetSave(testdata("ipvs", "captured-ipset-save.txt"));
    const withSets = iptablesBaseChains(parseIptablesSave(text), sets);
    expect(runHook(withSets, "output", tcp(NODE_IP, "10.96.0.1", 443)).verdict).toBe("accept");
    expect(runHook(withSets, "output", tcp(NODE_IP, "10.96.0.1", 80)).verdict).toBe("reject");
    expect(
      runHook(withSets, "output", {
        protocol: "udp",
        src: NODE_IP,
        dst: "10.96.0.10",
        sport: 5353,
        dport: 53,
      }).verdict,
    ).toBe("accept");
    const without = runHook(
      iptablesBaseChains(parseIptablesSave(text)),
      "output",
      tcp(NODE_IP, "10.96.0.1", 443),
    );
    expect(without.unknown[0]).toMatch(/the ipsets were not captured/);
  });

  it("LOG goes on to the next rule; SNAT rewrites the source and ends the nat table", () => {
    const text =
      "*nat\n:POSTROUTING ACCEPT [0:0]\n" +
      '-A POSTROUTING -j LOG --log-prefix "nat: "\n' +
      "-A POSTROUTING -s 10.244.0.0/16 -o eth0 -j SNAT --to-source 192.168.99.1:20000-30000\n" +
      "-A POSTROUTING -j MASQUERADE\nCOMMIT\n";
    const r = runHook(
      iptablesBaseChains(parseIptablesSave(text)),
      "postrouting",
      tcp("10.244.1.5", "8.8.8.8", 53),
      {
        outDev: "eth0",
      },
    );
    expect(path(r)).toEqual(["nat/POSTROUTING#2 snat"]);
    expect(r.packet).toMatchObject({ src: "192.168.99.1", sport: 20000 });
    expect(r.snat).toBe(true);
  });

  it("DNAT/SNAT with only a port (Docker's embedded DNS rules) keep the address and change the port", () => {
    // Docker's rules for its embedded DNS server (127.0.0.11) in a container netns, as
    // `iptables-save -t nat` prints them (moby/libnetwork's resolver_unix.go writes them).
    const text =
      "*nat\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER_OUTPUT - [0:0]\n:DOCKER_POSTROUTING - [0:0]\n" +
      "-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT\n" +
      "-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING\n" +
      "-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:41234\n" +
      "-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 41234 -j SNAT --to-source :53\n" +
      "COMMIT\n";
    const chains = iptablesBaseChains(parseIptablesSave(text));
    // The resolver's address is on lo, so the client's source is 127.0.0.11 as well.
    const query = { protocol: "udp" as const, src: "127.0.0.11", dst: "127.0.0.11", sport: 40000, dport: 53 };
    const out = runHook(chains, "output", query, { outDev: "lo" });
    expect(out.packet).toEqual({ ...query, dport: 41234 });
    const answer = {
      protocol: "udp" as const,
      src: "127.0.0.11",
      dst: "127.0.0.11",
      sport: 41234,
      dport: 40000,
    };
    const post = runHook(chains, "postrouting", answer, { outDev: "lo" });
    expect(post.packet).toEqual({ ...answer, sport: 53 });
    expect(post.snat).toBe(true);
  });

  it("MARK --set-xmark, --or-mark and --xor-mark compute the mark as the kernel does", () => {
    const src = ruleset(
      "-A OUTPUT -j MARK --set-xmark 0x4000/0x4000\n-A OUTPUT -j MARK --or-mark 0x1\n-A OUTPUT -j MARK --xor-mark 0x4000\n-A OUTPUT -m mark --mark 0x1/0x1 -j DROP",
    );
    const r = runHook(src, "output", tcp(NODE_IP, "10.0.0.1", 80), { mark: 0x8000 });
    expect(r.verdict).toBe("drop");
    expect(r.mark).toBe(0x8001);
  });
});

import { describe, expect, test } from "vitest";
import type { Packet } from "../../../model/trace.js";
import { loadCapture } from "../../../parsers/nftables/testdata/fixtures.js";
import { newFlow } from "../../testdata/models.js";
import type { BaseChain, Hook, NetfilterContext } from "../types.js";
import { nftBaseChains } from "./base-chains.js";

// The render-coverage capture: nft's own JSON for statements kube-proxy/flannel write that the
// cluster fixtures lack (see testdata/PROVENANCE.md).
const rs = loadCapture("render-coverage");

const ctx = newFlow;
function chain(hook: Hook, name: string): BaseChain {
  const b = nftBaseChains(rs)(hook).find((c) => c.chain === name);
  if (!b) throw new Error(`no ${name}`);
  return b;
}
const decided = (hook: Hook, name: string, p: Packet, over: Partial<NetfilterContext>) => {
  const out = chain(hook, name).evaluate(p, ctx(hook, over));
  const last = out.steps.at(-1);
  return { verdict: out.verdict, rule: last?.ruleIndex, action: last?.action, out };
};

const pod: Packet = { protocol: "tcp", src: "10.244.1.5", sport: 1000, dst: "10.96.0.1", dport: 443 };
const dev = { inDev: "cni0", outDev: "eth0" };

describe("nftables matches on the forward chain", () => {
  test("ct state established,related matches an established flow", () => {
    expect(decided("forward", "forward", pod, { ...dev, ctState: "established" })).toMatchObject({
      rule: 1,
      action: "accept",
    });
  });

  test("ct status dnat matches once the destination was NATed", () => {
    expect(decided("forward", "forward", pod, { ...dev, ctDnat: true })).toMatchObject({
      rule: 2,
      action: "accept",
    });
  });

  test("oifname and an interval set (range and prefix) match together", () => {
    const p = { ...pod, src: "10.0.0.5" };
    expect(decided("forward", "forward", p, { inDev: "cni0", outDev: "flannel.1" })).toMatchObject({
      rule: 3,
    });
    expect(
      decided("forward", "forward", { ...p, src: "10.0.0.10" }, { inDev: "cni0", outDev: "flannel.1" }).rule,
    ).toBe(5);
    expect(
      decided("forward", "forward", { ...p, src: "192.168.4.4" }, { inDev: "cni0", outDev: "flannel.1" })
        .rule,
    ).toBe(3);
  });

  test("an anonymous set of a port and a port range drops tcp dport 85 but not udp 85", () => {
    expect(decided("forward", "forward", { ...pod, dport: 85 }, dev)).toMatchObject({
      rule: 4,
      verdict: "drop",
    });
    expect(decided("forward", "forward", { ...pod, protocol: "udp", dport: 85 }, dev).rule).toBe(5);
  });
});

describe("nftables NAT through maps", () => {
  test("dnat ip to ip daddr . tcp dport map @endpoint-dnat rewrites from the map element, incl. a prefix key", () => {
    const exact = decided(
      "prerouting",
      "prerouting",
      { ...pod, dst: "10.96.0.10", dport: 53 },
      { inDev: "eth0" },
    );
    expect(exact).toMatchObject({ rule: 2, action: "dnat" });
    expect(exact.out.packet).toMatchObject({ dst: "10.244.1.5", dport: 5353 });
    const prefix = decided(
      "prerouting",
      "prerouting",
      { ...pod, dst: "10.97.3.4", dport: 80 },
      { inDev: "eth0" },
    );
    expect(prefix.out.packet).toMatchObject({ dst: "10.244.2.6", dport: 8080 });
  });

  test("a map miss ends the rule; dnat without a port keeps the destination port", () => {
    const out = decided("prerouting", "prerouting", pod, { inDev: "eth0" });
    expect(out).toMatchObject({ rule: 3, action: "dnat" });
    expect(out.out.packet).toMatchObject({ dst: "192.168.1.10", dport: 443 });
  });

  test("snat on oifname rewrites the source; other traffic is masqueraded", () => {
    const snat = decided("postrouting", "postrouting", pod, { outDev: "eth0" });
    expect(snat).toMatchObject({ rule: 1, action: "snat" });
    expect(snat.out).toMatchObject({ snat: true, packet: { src: "192.168.1.10" } });
    expect(decided("postrouting", "postrouting", pod, { outDev: "flannel.1" })).toMatchObject({
      rule: 2,
      action: "masquerade",
    });
  });

  test("an unknown input device on prerouting is reported, not guessed", () => {
    const out = chain("prerouting", "prerouting").evaluate(pod, ctx("prerouting"));
    expect(out.unknown).toContain("ip coverage prerouting rule 1: meta iifname: input device not known");
  });
});

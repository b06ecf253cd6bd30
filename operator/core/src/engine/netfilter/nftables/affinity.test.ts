/**
 * ClientIP session affinity in kube-proxy's nftables mode, on kube-proxy's golden ruleset captured
 * from the kernel (`nft -j list ruleset`; ns5/svc5 at 172.30.0.45 has sessionAffinity ClientIP).
 * Evidence lines are checked against nft's own listing of the same ruleset (golden-kube-proxy.nft.txt).
 */
import { describe, expect, test } from "vitest";
import type { Packet } from "../../../model/trace.js";
import { loadCapture, testdataFile } from "../../../parsers/nftables/testdata/fixtures.js";
import { newFlow } from "../../testdata/models.js";
import type { NetfilterStep } from "../types.js";
import { nftBaseChains } from "./base-chains.js";

const golden = loadCapture("golden-kube-proxy");
const listing = testdataFile("golden-kube-proxy.nft.txt")
  .split("\n")
  .map((l) => l.trim());

function prerouting(packet: Packet): NetfilterStep[] {
  const nat = nftBaseChains(golden)("prerouting").find((c) => c.type === "nat");
  if (!nat) throw new Error("no nat prerouting chain");
  return nat.evaluate(packet, newFlow("prerouting")).steps;
}

const pkt = (dst: string): Packet => ({ protocol: "tcp", src: "10.0.1.5", sport: 40000, dst, dport: 80 });

describe("session affinity in nftables mode", () => {
  test("the numgen step of a ClientIP Service carries the affinity set's timeout and the client", () => {
    const svc = prerouting(pkt("172.30.0.45")).find((s) => s.endpoints);
    expect(svc?.chain).toBe("service-HVFWP5L3-ns5/svc5/tcp/p80");
    expect(svc?.affinity).toMatchObject({ mode: "ClientIP", timeoutSeconds: 10800, client: "10.0.1.5" });
  });

  test("its evidence is the affinity set, the `ip saddr @affinity-…` rule and the `update @affinity-…` of the endpoint, as nft lists them", () => {
    const evidence = prerouting(pkt("172.30.0.45")).find((s) => s.affinity)?.affinity?.evidence ?? [];
    expect(evidence.map((e) => e.text)).toEqual([
      "set affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { type ipv4_addr; flags timeout; timeout 3h; }",
      "ip saddr @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80",
      "update @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr }",
    ]);
    for (const e of evidence.slice(1)) expect(listing).toContain(e.text);
    expect(listing).toContain("timeout 3h");
    expect(evidence.every((e) => e.source === "nft -j list ruleset")).toBe(true);
  });

  test("a first packet is in no affinity set: it takes the numgen choice to the endpoint's dnat", () => {
    const steps = prerouting(pkt("172.30.0.45"));
    expect(steps.map((s) => [s.chain, s.action])).toEqual([
      ["nat-prerouting", "jump"],
      ["services", "goto"],
      ["service-HVFWP5L3-ns5/svc5/tcp/p80", "goto"],
      ["endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80", "dnat"],
    ]);
    expect(steps[2]?.evidence.text).toMatch(/^numgen random mod 1 vmap/);
  });

  test("Services without affinity have none", () => {
    for (const dst of ["172.30.0.41", "172.30.0.44"]) {
      const steps = prerouting(pkt(dst));
      expect(steps.some((s) => s.endpoints)).toBe(true);
      expect(steps.some((s) => s.affinity)).toBe(false);
    }
  });
});

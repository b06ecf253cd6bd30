/**
 * ClientIP session affinity in kube-proxy's iptables mode, on real dumps of this kernel: the
 * kube-proxy golden rules restored with iptables-nft-restore (ns5/svc5 has sessionAffinity
 * ClientIP, 10800 s) and a kubeadm node's rules (no affinity).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Packet } from "../../../model/trace.js";
import { parseIptablesSave } from "../../../parsers/iptables/save.js";
import { newFlow, tcp } from "../../testdata/models.js";
import type { NetfilterStep } from "../types.js";
import { iptablesBaseChains } from "./base-chains.js";

const dump = (name: string) =>
  readFileSync(new URL(`../../../parsers/iptables/testdata/${name}`, import.meta.url), "utf8");
const golden = iptablesBaseChains(parseIptablesSave(dump("captured-golden-nfacct-nft.txt")));
const kubeadm = iptablesBaseChains(parseIptablesSave(dump("captured-kubeadm-nft.txt")));

function prerouting(source: typeof golden, packet: Packet): NetfilterStep[] {
  const [nat] = source("prerouting").filter((c) => c.table === "nat");
  if (!nat) throw new Error("no nat PREROUTING");
  return nat.evaluate(packet, newFlow("prerouting")).steps;
}

describe("session affinity in iptables mode", () => {
  it("the Service step of a ClientIP Service carries the --rcheck timeout, the client and the rules as evidence", () => {
    const steps = prerouting(golden, tcp("10.0.1.5", "172.30.0.45", 80));
    const svc = steps.find((s) => s.endpoints);
    expect(svc?.chain).toBe("KUBE-SVC-NUKIZ6OKUXPJNT4C");
    expect(svc?.affinity).toEqual({
      mode: "ClientIP",
      timeoutSeconds: 10800,
      client: "10.0.1.5",
      evidence: [
        {
          source: "iptables-save",
          text: '[0:0] -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -j KUBE-SEP-I77PXRDZVX7PMWMN',
          line: 113,
        },
        {
          source: "iptables-save",
          text: '[0:0] -A KUBE-SEP-I77PXRDZVX7PMWMN -p tcp -m comment --comment "ns5/svc5:p80" -m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.3:80',
          line: 88,
        },
      ],
    });
  });

  it("a first packet still takes the random choice: the affinity rule is no step and no endpoint", () => {
    const steps = prerouting(golden, tcp("10.0.1.5", "172.30.0.45", 80));
    expect(steps.map((s) => `${s.chain}#${s.ruleIndex}`)).toEqual([
      "PREROUTING#1",
      "KUBE-SERVICES#8",
      "KUBE-SVC-NUKIZ6OKUXPJNT4C#3",
      "KUBE-SEP-I77PXRDZVX7PMWMN#2",
    ]);
    expect(steps.filter((s) => s.affinity)).toHaveLength(1);
  });

  it("a Service without affinity has none, nor has any other step", () => {
    for (const steps of [
      prerouting(golden, tcp("10.0.1.5", "172.30.0.44", 80)),
      prerouting(kubeadm, tcp("10.244.0.7", "10.108.64.11", 8080)),
    ]) {
      expect(steps.some((s) => s.endpoints)).toBe(true);
      expect(steps.some((s) => s.affinity)).toBe(false);
    }
  });

  it("the remembered client is the source the Service's rules see (a node's own address for OUTPUT)", () => {
    const [nat] = golden("output").filter((c) => c.table === "nat");
    const steps =
      nat?.evaluate(
        tcp("192.168.99.1", "172.30.0.45", 80),
        newFlow("output", { localAddresses: new Set(["192.168.99.1"]) }),
      ).steps ?? [];
    expect(steps.find((s) => s.affinity)?.affinity?.client).toBe("192.168.99.1");
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { Packet } from "../../../model/trace.js";
import { parseIptablesSave } from "../../../parsers/iptables/save.js";
import { newFlow } from "../../testdata/models.js";
import type { NetfilterContext } from "../types.js";
import { iptablesBaseChains } from "./base-chains.js";
import { mayMatch } from "./skim.js";
import { WALK_LIMITS } from "./walk.js";

const pkt: Packet = { protocol: "tcp", src: "10.244.0.9", dst: "10.96.0.10", sport: 40000, dport: 53 };

describe("mayMatch rules out only rules that cannot match", () => {
  const keep = mayMatch(pkt);
  it("drops a plain -d /32 for another address and keeps the packet's own", () => {
    expect(keep("[0:0] -A KUBE-SERVICES -d 10.96.0.11/32 -p tcp -m tcp --dport 53 -j X")).toBe(false);
    expect(keep("[0:0] -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -j X")).toBe(true);
  });

  it("keeps negated, wider or port-mismatched-but-negated rules, and ignores text inside comments", () => {
    expect(keep("-A X ! -d 10.96.0.11/32 -j Y")).toBe(true);
    expect(keep("-A X -d 10.96.0.0/16 -j Y")).toBe(true);
    expect(keep('-A X -m comment --comment "to -d 1.2.3.4 --dport 9" -j Y')).toBe(true);
    expect(keep("-A X -p tcp -m tcp ! --dport 80 -j Y")).toBe(true);
    expect(keep("-A X -p tcp -m tcp --dport 80 -j Y")).toBe(false);
    expect(keep("-A X -p tcp -m tcp --dport 30000:32767 -j Y")).toBe(true);
  });
});

/** A kube-proxy-shaped nat table with `n` one-endpoint Services and a NodePort for each. */
function bigRuleset(n: number): string {
  const decl = [
    ":PREROUTING ACCEPT [0:0]",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
  ];
  const rules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
  ];
  const svc: string[] = [];
  const np: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.96.${i >> 8}.${i & 255}`;
    decl.push(`:KUBE-SVC-${i} - [0:0]`, `:KUBE-SEP-${i} - [0:0]`);
    svc.push(
      `-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "ns/s${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-${i}`,
    );
    np.push(
      `-A KUBE-NODEPORTS -p tcp -m comment --comment "ns/s${i}:http" -m tcp --dport ${30000 + i} -j KUBE-SVC-${i}`,
    );
    rules.push(
      `-A KUBE-SVC-${i} -m comment --comment "ns/s${i}:http -> 10.244.${i >> 8}.${i & 255}:8080" -j KUBE-SEP-${i}`,
    );
    rules.push(
      `-A KUBE-SEP-${i} -p tcp -m comment --comment "ns/s${i}:http" -m tcp -j DNAT --to-destination 10.244.${i >> 8}.${i & 255}:8080`,
    );
  }
  svc.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  return ["*nat", ...decl, ...rules, ...svc, ...np, "COMMIT", ""].join("\n");
}

const ctx: NetfilterContext = newFlow("prerouting", { localAddresses: new Set(["192.168.1.1"]) });
const skimAbove = WALK_LIMITS.skimAbove;

describe("walking a 2000-Service KUBE-SERVICES", () => {
  afterEach(() => {
    WALK_LIMITS.skimAbove = skimAbove;
  });
  const text = bigRuleset(2000);

  const trace = (packet: Packet) => {
    const rs = parseIptablesSave(text);
    const chain = iptablesBaseChains(rs)("prerouting")[0];
    if (!chain) throw new Error("no nat PREROUTING");
    return { outcome: chain.evaluate(packet, ctx), stats: rs.stats() };
  };

  it("parses a handful of rules, not the chain, and walks the same way as a full parse", () => {
    const packet: Packet = { protocol: "tcp", src: "10.244.9.9", dst: "10.96.7.1", sport: 40000, dport: 80 };
    const skimmed = trace(packet);
    expect(skimmed.outcome.packet).toMatchObject({ dst: "10.244.7.1", dport: 8080 });
    expect(skimmed.stats.rulesParsed).toBeLessThan(10);
    WALK_LIMITS.skimAbove = Number.POSITIVE_INFINITY;
    const full = trace(packet);
    expect(full.stats.rulesParsed).toBeGreaterThan(2000);
    expect(skimmed.outcome).toEqual(full.outcome);
  });

  it("keeps the last KUBE-SERVICES rule (no -d) so a NodePort is still found", () => {
    const { outcome, stats } = trace({
      protocol: "tcp",
      src: "203.0.113.5",
      dst: "192.168.1.1",
      sport: 40000,
      dport: 31999,
    });
    expect(outcome.steps.map((s) => `${s.chain}#${s.ruleIndex}`)).toEqual([
      "PREROUTING#1",
      "KUBE-SERVICES#2001",
      "KUBE-NODEPORTS#2000",
      "KUBE-SVC-1999#1",
      "KUBE-SEP-1999#1",
    ]);
    expect(outcome.packet.dst).toBe("10.244.7.207");
    expect(stats.rulesParsed).toBeLessThan(10);
  });
});

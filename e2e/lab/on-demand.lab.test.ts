/**
 * Demand-driven netfilter (what a trace on a big node uses instead of `iptables-save`): the probe
 * reads only the chains the packet enters, one `iptables -S CHAIN` at a time, and re-runs the pure
 * engine until nothing is missing. On the live lab with kube-proxy's Services it must give exactly
 * the trace the full dump gives, while reading a fraction of the chains.
 */
import type { NodeState, Packet } from "@netmap/core";
import { clusterFactsFromNodes, trace } from "@netmap/core";
import { collectNodeForTrace, type OnDemandIptablesRuleset, traceOnDemand } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, type Lab } from "./lab.js";
import { installServices, type LabServices, SERVICE_PORT } from "./services.js";
import { captureLab } from "./trace.js";

let lab: Lab;
let services: LabServices;

beforeAll(async () => {
  lab = await createLab({ name: "ondemand", nodes: 3, podsPerNode: 2, overlay: "vxlan" });
  services = await installServices(lab, "iptables");
});

afterAll(async () => {
  await lab?.destroy();
});

async function demandDriven(packet: Packet, endpoint?: number) {
  const nodes: NodeState[] = [];
  const rulesets: OnDemandIptablesRuleset[] = [];
  const releases: Array<() => void> = [];
  try {
    for (const n of lab.nodes) {
      const r = await collectNodeForTrace({ node: n.name, hostNetns: `/var/run/netns/${n.netns}` });
      releases.push(() => r.release());
      nodes.push(r.state);
      if (r.iptables) rulesets.push(r.iptables);
    }
    return await traceOnDemand(
      { nodes, facts: clusterFactsFromNodes(nodes), packet, ...(endpoint !== undefined ? { endpoint } : {}) },
      rulesets,
    );
  } finally {
    for (const release of releases) release();
  }
}

/**
 * The same trace read two ways differs only in where each rule came from: `iptables-save -c` prints
 * `[p:b] -A …`, `iptables -S CHAIN -v` prints `-A … -c p b`, with line numbers of its own listing.
 * Evidence becomes the rule itself; everything else must be equal.
 */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (typeof o.source === "string" && typeof o.text === "string" && /^iptables/.test(o.source)) {
    return o.text.replace(/^\[\d+:\d+\] /, "").replace(/ -c \d+ \d+/, "");
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, comparable(v)]));
}

function iptablesEvidence(result: { hops: Array<{ evidence: Array<{ source: string }> }> }): string[] {
  return result.hops.flatMap((h) => h.evidence.map((e) => e.source)).filter((s) => s.startsWith("iptables"));
}

async function countChains(netns: string): Promise<number> {
  const out = await lab.exec(netns, ["iptables-save"]);
  return out.stdout.split("\n").filter((l) => l.startsWith(":")).length;
}

describe("demand-driven iptables on the live lab", () => {
  it("traces pod → ClusterIP exactly as the full iptables-save does, reading only the chains it enters", async () => {
    const src = lab.pods[0];
    if (!src) throw new Error("lab has no pods");
    const packet: Packet = {
      protocol: "tcp",
      src: src.ip,
      dst: services.web.clusterIP,
      sport: 40000,
      dport: SERVICE_PORT,
    };
    for (const endpoint of [0, 1, 2]) {
      const full = await captureLab(lab);
      const expected = trace({ nodes: full, facts: clusterFactsFromNodes(full), packet, endpoint });
      const got = await demandDriven(packet, endpoint);
      expect(got.result.verdict).toBe("Delivered");
      expect(comparable(got.result)).toEqual(comparable(expected));
      const sources = iptablesEvidence(got.result);
      expect(sources.length).toBeGreaterThan(3);
      for (const src of sources) expect(src).toMatch(/^iptables -t (nat|filter|mangle|raw) -S \S+ -v$/);
      expect(got.rounds).toBeGreaterThan(1);
      const chains = await countChains(lab.nodes[0]?.netns as string);
      expect(got.commands).toBeLessThan(chains * lab.nodes.length);
      console.log(
        `[on-demand] endpoint ${endpoint}: ${got.result.hops.length} hops, same as the full dump; ${got.rounds} rounds, ${got.commands} iptables -S reads (the nodes hold ${chains} chains each)`,
      );
    }
  });

  it("gives the same Rejected verdict and finding for a Service without endpoints", async () => {
    const src = lab.pods[1];
    if (!src) throw new Error("lab has no pods");
    const packet: Packet = {
      protocol: "tcp",
      src: src.ip,
      dst: services.empty.clusterIP,
      sport: 40001,
      dport: SERVICE_PORT,
    };
    const full = await captureLab(lab);
    const expected = trace({ nodes: full, facts: clusterFactsFromNodes(full), packet });
    const got = await demandDriven(packet);
    expect(got.result.verdict).toBe("Rejected");
    expect(got.result.findings.map((f) => f.code)).toContain("SERVICE_NO_ENDPOINTS");
    expect(comparable(got.result)).toEqual(comparable(expected));
  });
});

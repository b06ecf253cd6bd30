/**
 * Demand-driven netfilter (what a trace on a big node uses instead of `iptables-save`): the probe
 * reads only the chains the packet enters, one `iptables -S CHAIN` at a time, and re-runs the pure
 * engine until nothing is missing. On the live lab with kube-proxy's Services it must give exactly
 * the trace the full dump gives, while reading a fraction of the chains.
 */
import type { NodeState, Packet } from "@netmap/core";
import { clusterFactsFromNodes, NftChainListing, trace } from "@netmap/core";
import {
  collectNodeForTrace,
  type OnDemandNftRuleset,
  type OnDemandSource,
  onDemandNft,
  traceOnDemand,
} from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { comparable } from "./evidence.js";
import { createLab, type Lab } from "./lab.js";
import { installServices, type LabService, type LabServices, SERVICE_PORT } from "./services.js";
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

async function demandDriven(packet: Packet, endpoint?: number, on: Lab = lab) {
  const nodes: NodeState[] = [];
  const sources: OnDemandSource[] = [];
  const releases: Array<() => void> = [];
  const nft: OnDemandNftRuleset[] = [];
  try {
    for (const n of on.nodes) {
      const r = await collectNodeForTrace({ node: n.name, hostNetns: `/var/run/netns/${n.netns}` });
      releases.push(() => r.release());
      nodes.push(r.state);
      sources.push(...r.onDemand);
      if (r.nft) nft.push(r.nft);
    }
    const got = await traceOnDemand(
      { nodes, facts: clusterFactsFromNodes(nodes), packet, ...(endpoint !== undefined ? { endpoint } : {}) },
      sources,
    );
    return {
      ...got,
      netlinkRequests: nft.reduce((n, r) => n + r.commands, 0),
      fallbacks: nft.flatMap((r) => r.fallbacks()),
    };
  } finally {
    for (const release of releases) release();
  }
}

function evidenceFrom(
  result: { hops: Array<{ evidence: Array<{ source: string }> }> },
  prefix: string,
): string[] {
  return result.hops.flatMap((h) => h.evidence.map((e) => e.source)).filter((s) => s.startsWith(prefix));
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
      const sources = evidenceFrom(got.result, "iptables");
      expect(sources.length).toBeGreaterThan(3);
      for (const src of sources) expect(src).toMatch(/^iptables -t (nat|filter|mangle|raw) -S \S+ -v$/);
      expect(got.rounds).toBeGreaterThan(1);
      const chains = await countChains(lab.nodes[0]?.netns as string);
      const reads = got.commands.reduce((a, b) => a + b, 0);
      expect(reads).toBeLessThan(chains * lab.nodes.length);
      console.log(
        `[on-demand] endpoint ${endpoint}: ${got.result.hops.length} hops, same as the full dump; ${got.rounds} rounds, ${reads} iptables -S reads (the nodes hold ${chains} chains each)`,
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

describe("demand-driven nftables (netlink) on the live lab", () => {
  let nlab: Lab;
  let nservices: LabServices;

  beforeAll(async () => {
    nlab = await createLab({ name: "ondemandnft", nodes: 3, podsPerNode: 2, overlay: "vxlan" });
    nservices = await installServices(nlab, "nftables");
  });

  afterAll(async () => {
    await nlab?.destroy();
  });

  function packetTo(service: LabService, from: number, sport: number): Packet {
    const src = nlab.pods[from];
    if (!src) throw new Error("lab has no pods");
    return { protocol: "tcp", src: src.ip, dst: service.clusterIP, sport, dport: SERVICE_PORT };
  }

  async function objectsIn(netns: string): Promise<number> {
    const out = await nlab.exec(netns, ["nft", "list", "table", "ip", "kube-proxy"]);
    return out.stdout.split("\n").filter((l) => /^\s*(chain|set|map) /.test(l)).length;
  }

  it("traces pod → ClusterIP for every endpoint exactly as the full nft listing does, reading a few objects over netlink", async () => {
    const packet = packetTo(nservices.web, 0, 41000);
    const full = await captureLab(nlab);
    const objects = await objectsIn(nlab.nodes[0]?.netns as string);
    for (const endpoint of [0, 1, 2]) {
      const expected = trace({ nodes: full, facts: clusterFactsFromNodes(full), packet, endpoint });
      const got = await demandDriven(packet, endpoint, nlab);
      expect(got.result.verdict).toBe("Delivered");
      expect(got.fallbacks).toEqual([]);
      expect(comparable(got.result)).toEqual(comparable(expected));
      const nft = evidenceFrom(got.result, "netlink");
      expect(nft.length).toBeGreaterThan(3);
      for (const src of nft) expect(src).toMatch(/^netlink NFT_MSG_GET(RULE|SET) ip kube-proxy \S+$/);
      expect(evidenceFrom(got.result, "nft ")).toEqual([]);
      expect(got.netlinkRequests).toBeLessThan(objects * nlab.nodes.length);
      console.log(
        `[on-demand nft] endpoint ${endpoint}: ${got.result.hops.length} hops, same as the full listing; ${got.rounds} rounds, ${got.netlinkRequests} netlink requests (each node's kube-proxy table holds ${objects} chains and sets)`,
      );
    }
  });

  it("gives the same Rejected verdict for a Service without endpoints, and the same affinity for a sticky one", async () => {
    const full = await captureLab(nlab);
    const empty = packetTo(nservices.empty, 1, 41001);
    const gotEmpty = await demandDriven(empty, undefined, nlab);
    expect(gotEmpty.result.verdict).toBe("Rejected");
    expect(gotEmpty.result.findings.map((f) => f.code)).toContain("SERVICE_NO_ENDPOINTS");
    expect(comparable(gotEmpty.result)).toEqual(
      comparable(trace({ nodes: full, facts: clusterFactsFromNodes(full), packet: empty })),
    );
    const sticky = packetTo(nservices.sticky, 2, 41002);
    const gotSticky = await demandDriven(sticky, undefined, nlab);
    const expected = trace({ nodes: full, facts: clusterFactsFromNodes(full), packet: sticky });
    expect(gotSticky.result.hops.some((h) => h.affinity !== undefined)).toBe(true);
    expect(comparable(gotSticky.result)).toEqual(comparable(expected));
    expect(gotSticky.fallbacks).toEqual([]);
  });

  it("has no netlink reader without socat, and says so instead of failing", async () => {
    const node = nlab.nodes[0];
    if (!node) throw new Error("lab has no nodes");
    const listing = new NftChainListing(
      (await nlab.exec(node.netns, ["nft", "-j", "list", "chains"])).stdout,
    );
    const netns = `/var/run/netns/${node.netns}`;
    const kept = [{ family: "ip", name: "kube-proxy" }];
    expect(await onDemandNft(netns, listing, kept, { socat: "/nonexistent/socat" })).toBeUndefined();
    const real = await onDemandNft(netns, listing, kept);
    expect(real?.tables.map((t) => `${t.family} ${t.name}`)).toEqual(["ip kube-proxy"]);
    real?.close();
  });

  it("reads the whole table with nft when a chain on the path holds an expression it cannot decode exactly, and traces the same", async () => {
    const node = nlab.nodes[0];
    if (!node) throw new Error("lab has no nodes");
    // `log` is not among the expressions the netlink decoder renders: the table must fall back.
    const inserted = await nlab.exec(node.netns, [
      "nft",
      "insert",
      "rule",
      "ip",
      "kube-proxy",
      "nat-prerouting",
      "log",
      "prefix",
      "netmap-lab",
    ]);
    expect(inserted.code).toBe(0);
    try {
      const packet = packetTo(nservices.web, 0, 41003);
      const full = await captureLab(nlab);
      const got = await demandDriven(packet, 0, nlab);
      expect(got.fallbacks.length).toBe(1);
      expect(got.fallbacks[0]).toMatch(/^ip kube-proxy: .*log/);
      expect(comparable(got.result)).toEqual(
        comparable(trace({ nodes: full, facts: clusterFactsFromNodes(full), packet, endpoint: 0 })),
      );
    } finally {
      const listed = await nlab.exec(node.netns, [
        "nft",
        "-a",
        "list",
        "chain",
        "ip",
        "kube-proxy",
        "nat-prerouting",
      ]);
      const handle = /log prefix "netmap-lab" # handle (\d+)/.exec(listed.stdout)?.[1];
      if (handle)
        await nlab.exec(node.netns, [
          "nft",
          "delete",
          "rule",
          "ip",
          "kube-proxy",
          "nat-prerouting",
          "handle",
          handle,
        ]);
    }
  });
});

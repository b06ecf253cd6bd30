/**
 * Every kernel-lab path, on the lab snapshots the repo ships (real kernel state captured by the probe
 * from labs wired by the CNI bridge plugin: kubectl-plugin/src/testdata/snapshots, provenance in
 * kubectl-plugin/src/testdata/traces/README.md). The request direction of each trace must equal what
 * the whole-cluster engine computed before the per-node walk replaced it, and each trace is also run
 * node by node the way the operator runs it: see operator/core/src/engine/testdata/golden.ts.
 */
import { fileURLToPath } from "node:url";
import type { NodeState, Packet, TraceResult } from "@netmap/core";
import { assembleNodeState, clusterFactsFromNodes } from "@netmap/core";
import { readSnapshotDir } from "@netmap/probe";
import { beforeAll, describe, expect, it } from "vitest";
// The engine tests' trace: also checks stitched-equals-whole and compares with the whole-cluster engine.
import { compareEveryWholeClusterResult, trace } from "../../operator/core/src/engine/testdata/golden.js";

compareEveryWholeClusterResult(import.meta.url);

const SNAPSHOTS = fileURLToPath(new URL("../../kubectl-plugin/src/testdata/snapshots/", import.meta.url));

async function load(name: string): Promise<NodeState[]> {
  const captures = await readSnapshotDir(`${SNAPSHOTS}${name}`);
  expect(captures.length).toBeGreaterThan(1);
  return captures.map((c) => assembleNodeState(c));
}

/** A pod's address in the snapshots, by its lab name ("pod-1-2"). */
function podIp(nodes: readonly NodeState[], name: string): string {
  for (const n of nodes)
    for (const p of n.pods) if (p.pod?.name === name && p.ips[0] !== undefined) return p.ips[0];
  throw new Error(`no pod ${name} in the snapshots`);
}

/** A node's underlay address (eth0). */
function underlayIp(nodes: readonly NodeState[], node: string): string {
  const a = nodes
    .find((n) => n.node === node)
    ?.host.addresses.find((x) => x.ifname === "eth0" && x.family === 4);
  if (!a) throw new Error(`no eth0 address on ${node}`);
  return a.local;
}

function run(nodes: NodeState[], packet: Packet, endpoint?: number | string): TraceResult {
  return trace({
    nodes,
    facts: clusterFactsFromNodes(nodes),
    packet,
    ...(endpoint !== undefined ? { endpoint } : {}),
  });
}

const tcp = (src: string, dst: string, dport: number): Packet => ({
  protocol: "tcp",
  src,
  dst,
  sport: 40000,
  dport,
});

describe("the VXLAN lab (lab-vxlan: 2 nodes, flannel-style VXLAN)", () => {
  let nodes: NodeState[];
  beforeAll(async () => {
    nodes = await load("lab-vxlan");
  });

  it("same node, tcp", () => {
    expect(run(nodes, tcp(podIp(nodes, "pod-1-1"), podIp(nodes, "pod-1-2"), 8080)).verdict).toBe("Delivered");
  });
  it("same node, icmp", () => {
    const r = run(nodes, { protocol: "icmp", src: podIp(nodes, "pod-1-1"), dst: podIp(nodes, "pod-1-2") });
    expect(r.verdict).toBe("Delivered");
  });
  it("cross node over VXLAN, tcp", () => {
    expect(run(nodes, tcp(podIp(nodes, "pod-1-1"), podIp(nodes, "pod-2-2"), 8080)).verdict).toBe("Delivered");
  });
  it("cross node over VXLAN, udp the other way", () => {
    const r = run(nodes, {
      protocol: "udp",
      src: podIp(nodes, "pod-2-1"),
      dst: podIp(nodes, "pod-1-2"),
      sport: 40000,
      dport: 53,
    });
    expect(r.verdict).toBe("Delivered");
  });
  it("no route", () => {
    expect(run(nodes, { protocol: "icmp", src: podIp(nodes, "pod-1-1"), dst: "10.244.9.9" }).verdict).toBe(
      "Dropped",
    );
  });
});

describe("the host-gw lab (lab-hostgw: 2 nodes, routes via the other node's address)", () => {
  let nodes: NodeState[];
  beforeAll(async () => {
    nodes = await load("lab-hostgw");
  });

  it("cross node, tcp", () => {
    expect(run(nodes, tcp(podIp(nodes, "pod-1-2"), podIp(nodes, "pod-2-1"), 8080)).verdict).toBe("Delivered");
  });
  it("same node, tcp", () => {
    expect(run(nodes, tcp(podIp(nodes, "pod-2-1"), podIp(nodes, "pod-2-2"), 8080)).verdict).toBe("Delivered");
  });
});

for (const mode of ["iptables", "nftables"] as const) {
  describe(`Services in kube-proxy ${mode} mode (lab-services-${mode}: 3 nodes)`, () => {
    let nodes: NodeState[];
    beforeAll(async () => {
      nodes = await load(`lab-services-${mode}`);
    });

    for (const endpoint of [0, 1, 2]) {
      it(`ClusterIP web, endpoint ${endpoint}`, () => {
        const r = run(nodes, tcp(podIp(nodes, "pod-1-2"), "10.96.0.10", 80), endpoint);
        expect(r.verdict).toBe("Delivered");
      });
    }
    it("ClusterIP web from its own endpoint (hairpin)", () => {
      expect(run(nodes, tcp(podIp(nodes, "pod-1-1"), "10.96.0.10", 80), 0).verdict).toBe("Delivered");
    });
    it("ClusterIP sticky (sessionAffinity ClientIP)", () => {
      expect(run(nodes, tcp(podIp(nodes, "pod-1-2"), "10.96.0.13", 80), 1).verdict).toBe("Delivered");
    });
    it("ClusterIP without endpoints", () => {
      expect(run(nodes, tcp(podIp(nodes, "pod-1-2"), "10.96.0.12", 80)).verdict).toBe("Rejected");
    });
    it("NodePort on node-2's address", () => {
      const r = run(nodes, tcp(podIp(nodes, "pod-1-2"), underlayIp(nodes, "node-2"), 30080));
      expect(r.verdict).toBe("Delivered");
    });
  });
}

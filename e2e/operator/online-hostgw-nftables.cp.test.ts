/**
 * netmap online over a host-gw lab (pod CIDRs routed via the node addresses, no tunnel) with
 * kube-proxy's nftables rules: the operator and one probe per node on a real API server, each trace
 * equal to the offline trace of the same lab.
 */
import { join } from "node:path";
import type { Packet, TraceResult } from "@netmap/core";
import { describe, expect, it } from "vitest";
import { execCommand } from "../control-plane/index.js";
import { repoRoot } from "../control-plane/tools.js";
import { SERVICE_PORT } from "../lab/services.js";
import { LAB_NAMESPACE, runTrace } from "./cluster.js";
import { comparable, offlineTrace, onlineFixture, resultOf } from "./fixture.js";

const f = onlineFixture({ labName: "cphostgw", overlay: "host-gw", mode: "nftables" });
const offline = (packet: Packet, endpoint?: number) => offlineTrace(f.lab, packet, endpoint);
const PLUGIN = join(repoRoot(), "kubectl-plugin/bin/kubectl-netmap.js");

/** The real plugin binary, online, with the admin kubeconfig: its -o json result. */
async function kubectlNetmap(...args: string[]): Promise<TraceResult> {
  const r = await execCommand(
    [
      process.execPath,
      PLUGIN,
      ...args,
      "-n",
      LAB_NAMESPACE,
      "--kubeconfig",
      f.cp.kubeconfigPath,
      "-o",
      "json",
    ],
    { timeoutMs: 90_000 },
  );
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as TraceResult;
}

describe("NetworkTrace online over host-gw with kube-proxy's nftables rules", () => {
  it("traces pod → pod across nodes over host-gw, both directions, as the offline trace does", async () => {
    const a = f.pod("pod-1-1");
    const b = f.pod("pod-3-1");
    const t = await runTrace(f.cp, "hostgw-cross", {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "udp",
      port: 5353,
    });
    const want = await offline({ protocol: "udp", src: a.ip, dst: b.ip, sport: 40000, dport: 5353 });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(comparable(resultOf(t))).toEqual(comparable(want));
    expect(new Set(t.status?.nodes?.map((n) => n.node))).toEqual(new Set(["node-1", "node-3"]));
    expect(t.status?.hops?.some((h) => h.primitive === "vxlan")).toBe(false);
  });

  it("traces pod → Service through kube-proxy's nftables rules, as the offline trace does", async () => {
    const a = f.pod("pod-1-2");
    for (const endpoint of [0, 2]) {
      const t = await runTrace(f.cp, `hostgw-svc-${endpoint}`, {
        source: { pod: a.name },
        destination: { service: f.services.web.model.name },
        protocol: "tcp",
        port: SERVICE_PORT,
        endpoint,
      });
      const want = await offline(
        { protocol: "tcp", src: a.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
        endpoint,
      );
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(comparable(resultOf(t))).toEqual(comparable(want));
      expect(t.status?.verdict).toBe("Delivered");
      expect(t.status?.hops?.some((h) => h.primitive.startsWith("nft-"))).toBe(true);
    }
  });

  it("traces pod → Service without endpoints (nftables) as the offline trace does", async () => {
    const a = f.pod("pod-2-1");
    const t = await runTrace(f.cp, "hostgw-svc-empty", {
      source: { pod: a.name },
      destination: { service: f.services.empty.model.name },
      protocol: "tcp",
      port: SERVICE_PORT,
    });
    const want = await offline({
      protocol: "tcp",
      src: a.ip,
      dst: f.services.empty.clusterIP,
      sport: 40000,
      dport: SERVICE_PORT,
    });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(comparable(resultOf(t))).toEqual(comparable(want));
    expect(t.status?.verdict).not.toBe("Delivered");
  });

  it("traces from a node's own network namespace (source: node) as the offline trace does", async () => {
    const node = f.lab.nodes[1];
    const b = f.pod("pod-1-1");
    if (!node) throw new Error("no node 2");
    const t = await runTrace(f.cp, "from-node", {
      source: { node: node.name },
      destination: { pod: b.name },
      protocol: "icmp",
    });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(t.status?.request?.source).toEqual({ node: node.name, netns: "host" });
    const want = await offline({ protocol: "icmp", src: node.underlayIp, dst: b.ip });
    expect(comparable(resultOf(t))).toEqual(comparable(want));
  });

  it("kubectl netmap (the real plugin binary) over host-gw: pod → pod across nodes and pod → svc/web through nftables, as offline", async () => {
    const a = f.pod("pod-1-1");
    const b = f.pod("pod-3-1");
    const pods = await kubectlNetmap(a.name, b.name, "--protocol", "udp", "--port", "5353");
    const wantPods = await offline({ protocol: "udp", src: a.ip, dst: b.ip, sport: 40000, dport: 5353 });
    expect(comparable(pods)).toEqual(comparable(wantPods));
    expect(pods.verdict).toBe("Delivered");
    const c = f.pod("pod-1-2");
    const svc = await kubectlNetmap(
      c.name,
      `svc/${f.services.web.model.name}`,
      "--port",
      `${SERVICE_PORT}`,
      "--endpoint",
      "2",
    );
    const wantSvc = await offline(
      { protocol: "tcp", src: c.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
      2,
    );
    expect(comparable(svc)).toEqual(comparable(wantSvc));
    expect(svc.hops.some((h) => h.primitive.startsWith("nft-"))).toBe(true);
  });
});

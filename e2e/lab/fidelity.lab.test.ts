/**
 * Fidelity: the path netmap traces from live kernel state is the path real packets take.
 * For each path, a bounded burst of real packets (ICMP and TCP) goes from the source pod's netns to
 * the destination; the kernel's own interface counters must move on every device the trace lists,
 * and not on other pods' devices. Then faults are injected into the live lab, one at a time, and the
 * trace must stop at the right hop with the right finding while real traffic really fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab, LabPod } from "./lab.js";
import { createLab } from "./lab.js";
import { confirmWithCounters, nodesOf, TCP_PORT, traceLab } from "./trace.js";

let lab: Lab;

beforeAll(async () => {
  lab = await createLab({ name: "fidelity", nodes: 2, podsPerNode: 3, overlay: "vxlan" });
});

afterAll(async () => {
  await lab?.destroy();
});

function podOn(node: number, index: number): LabPod {
  const pods = lab.pods.filter((p) => p.node === lab.nodes[node - 1]?.name);
  const pod = pods[index - 1];
  if (!pod) throw new Error(`lab has no pod ${index} on node ${node}`);
  return pod;
}

const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`[fidelity] ${figures.join("; ")}`);
});

describe("traced paths match real packets", () => {
  it("same node: every device on the traced path moves by the burst, other pods' veths do not", async () => {
    const src = podOn(1, 1);
    const dst = podOn(1, 2);
    const r = await traceLab(lab, {
      protocol: "tcp",
      src: src.ip,
      dst: dst.ip,
      sport: 40000,
      dport: TCP_PORT,
    });
    expect(r.verdict).toBe("Delivered");
    const names = r.hops.map((h) => h.device);
    expect(names).toEqual(expect.arrayContaining([src.hostVeth, dst.hostVeth, "cni0"]));
    const { traced, confirmed } = await confirmWithCounters(lab, r, src, dst);
    expect(confirmed).toBe(traced);
    expect(traced).toBeGreaterThanOrEqual(4);
    figures.push(
      `same-node: ${r.hops.length} hops traced, ${confirmed}/${traced} traversed devices and traced rules confirmed by counters`,
    );
  });

  it("cross node over VXLAN: veth, cni0, flannel.1 and the underlay eth0 on both nodes move by the burst", async () => {
    const src = podOn(1, 1);
    const dst = podOn(2, 2);
    const r = await traceLab(lab, {
      protocol: "tcp",
      src: src.ip,
      dst: dst.ip,
      sport: 40000,
      dport: TCP_PORT,
    });
    expect(r.verdict).toBe("Delivered");
    expect(nodesOf(r, "request")).toEqual([lab.nodes[0]?.name, lab.nodes[1]?.name]);
    expect(nodesOf(r, "reply")).toEqual([lab.nodes[1]?.name, lab.nodes[0]?.name]);
    const encap = r.hops.find((h) => h.action === "encap");
    expect(encap?.outer).toMatchObject({ dst: lab.nodes[1]?.underlayIp, dport: 8472, vni: 1 });
    const { traced, confirmed } = await confirmWithCounters(lab, r, src, dst);
    expect(confirmed).toBe(traced);
    figures.push(
      `cross-node: ${r.hops.length} hops traced, ${confirmed}/${traced} traversed devices and traced rules confirmed by counters`,
    );
  });
});

describe("faults injected into the live lab", () => {
  let detected = 0;
  const injected = 5;
  afterAll(() => {
    figures.push(`faults: ${detected}/${injected} detected at the right hop`);
  });

  it("a veth set down: Dropped, LINK_DOWN names the host veth, and pings really fail", async () => {
    const src = podOn(1, 1);
    const dst = podOn(1, 3);
    await lab.setLinkDown(dst.nodeNetns, dst.hostVeth);
    try {
      const r = await traceLab(lab, { protocol: "icmp", src: src.ip, dst: dst.ip });
      expect(r.verdict).toBe("Dropped");
      expect(r.findings[0]).toMatchObject({ code: "LINK_DOWN", device: dst.hostVeth });
      expect(r.hops[r.findings[0]?.hop ?? -1]?.device).toBe(dst.hostVeth);
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
      detected++;
    } finally {
      await lab.setLinkUp(dst.nodeNetns, dst.hostVeth);
    }
  });

  it("ip_forward=0 on the source node: Dropped at the route to flannel.1 with IP_FORWARD_DISABLED", async () => {
    const src = podOn(1, 1);
    const dst = podOn(2, 1);
    const node = lab.nodes[0];
    if (!node) throw new Error("lab has no node 1");
    await lab.setSysctl(node.netns, "net.ipv4.ip_forward", "0");
    try {
      const r = await traceLab(lab, { protocol: "icmp", src: src.ip, dst: dst.ip });
      expect(r.verdict).toBe("Dropped");
      expect(r.findings[0]).toMatchObject({ code: "IP_FORWARD_DISABLED", node: node.name });
      expect(r.hops[r.findings[0]?.hop ?? -1]).toMatchObject({ primitive: "route", device: "flannel.1" });
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
      detected++;
    } finally {
      await lab.setSysctl(node.netns, "net.ipv4.ip_forward", "1");
    }
  });

  it("pod MTU above what VXLAN allows: MTU_EXCEEDS_TUNNEL at the encap hop, and a DF ping of that size really fails", async () => {
    const src = podOn(1, 2);
    const dst = podOn(2, 2);
    await lab.setMtu(src.netns, "eth0", 1500);
    try {
      const r = await traceLab(lab, { protocol: "icmp", src: src.ip, dst: dst.ip });
      const f = r.findings.find((x) => x.code === "MTU_EXCEEDS_TUNNEL");
      expect(f?.message).toContain("MTU is 1500, but at most 1450");
      expect(r.hops[f?.hop ?? -1]?.action).toBe("encap");
      // 1472 bytes of ICMP payload = a 1500-byte IP packet with DF: fits the pod's eth0, not flannel.1.
      expect(await lab.ping(src, dst.ip, { count: 3, size: 1472, df: true })).toBe(0);
      // Small packets still pass: the verdict for the traced (small) packet stays Delivered.
      expect(r.verdict).toBe("Delivered");
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(3);
      detected++;
    } finally {
      await lab.setMtu(src.netns, "eth0", lab.podMtu);
    }
  });

  it("a missing FDB entry for the remote VTEP: Dropped with NO_FDB_ENTRY on flannel.1", async () => {
    const src = podOn(1, 1);
    const dst = podOn(2, 3);
    const [n1, n2] = lab.nodes;
    if (!n1 || !n2?.vtepMac) throw new Error("lab has no VXLAN nodes");
    await lab.deleteFdb(n1.netns, n2.vtepMac, "flannel.1");
    try {
      const r = await traceLab(lab, { protocol: "icmp", src: src.ip, dst: dst.ip });
      expect(r.verdict).toBe("Dropped");
      expect(r.findings[0]).toMatchObject({ code: "NO_FDB_ENTRY", node: n1.name, device: "flannel.1" });
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
      detected++;
    } finally {
      await lab.exec(n1.netns, [
        "bridge",
        "fdb",
        "append",
        n2.vtepMac,
        "dev",
        "flannel.1",
        "dst",
        n2.underlayIp,
        "self",
        "permanent",
      ]);
    }
  });

  it("a DROP rule in FORWARD matching the flow: Dropped at that rule, whose counter moves with real packets", async () => {
    const src = podOn(1, 3);
    const dst = podOn(2, 1);
    const node = lab.nodes[0];
    if (!node) throw new Error("lab has no node 1");
    const rule = [
      "FORWARD",
      "-s",
      src.ip,
      "-d",
      dst.ip,
      "-p",
      "tcp",
      "--dport",
      String(TCP_PORT),
      "-j",
      "DROP",
    ];
    await lab.iptables(node.netns, ["-I", ...rule]);
    try {
      const r = await traceLab(lab, {
        protocol: "tcp",
        src: src.ip,
        dst: dst.ip,
        sport: 40000,
        dport: TCP_PORT,
      });
      expect(r.verdict).toBe("Dropped");
      expect(r.findings[0]?.code).toBe("NETFILTER_DROP");
      const hop = r.hops[r.findings[0]?.hop ?? -1];
      expect(hop).toMatchObject({ node: node.name, rule: "filter/FORWARD rule 1", action: "drop" });
      expect(hop?.evidence[0]?.text).toContain(
        `-A FORWARD -s ${src.ip}/32 -d ${dst.ip}/32 -p tcp -m tcp --dport ${TCP_PORT} -j DROP`,
      );
      const tcp = await lab.tcpProbe(src, dst.ip, TCP_PORT, { connections: 2 });
      expect(tcp.connected).toBe(0);
      const counters = await lab.exec(node.netns, ["iptables", "-L", "FORWARD", "1", "-v", "-x", "-n"]);
      expect(Number(counters.stdout.trim().split(/\s+/)[0])).toBeGreaterThanOrEqual(2);
      detected++;
    } finally {
      await lab.iptables(node.netns, ["-D", ...rule]);
    }
  });
});

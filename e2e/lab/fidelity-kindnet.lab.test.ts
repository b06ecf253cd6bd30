/**
 * Fidelity on kind's default network, kindnet: pods wired by the real CNI ptp plugin (no bridge:
 * every host veth holds the pod's gateway /32, a /32 route per pod), routes to the other node's
 * pod CIDR via its address, kindnetd's KIND-MASQ-AGENT rules. Bursts of real packets must move the
 * interface and rule counters of exactly the traced hops; the snapshot → offline trace path gives
 * the same path; two faults stop the trace where real traffic really stops.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TraceResult } from "@netmap/core";
import { collectNode } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDNET_MASQ_CHAIN } from "./kindnet.js";
import type { Lab, LabPod } from "./lab.js";
import { createLab } from "./lab.js";
import { BURST, confirmWithCounters, TCP_PORT, traceLab } from "./trace.js";

const CLI = fileURLToPath(new URL("../../kubectl-plugin/bin/kubectl-netmap.js", import.meta.url));

let lab: Lab;

beforeAll(async () => {
  lab = await createLab({ name: "ptpfid", nodes: 2, podsPerNode: 2, overlay: "host-gw", cni: "kindnet" });
});

afterAll(async () => {
  await lab?.destroy();
});

function podOn(node: number, index: number): LabPod {
  const pod = lab.pods.filter((p) => p.node === lab.nodes[node - 1]?.name)[index - 1];
  if (!pod) throw new Error(`lab has no pod ${index} on node ${node}`);
  return pod;
}

function nodeOf(pod: LabPod) {
  const node = lab.nodes.find((n) => n.name === pod.node);
  if (!node) throw new Error(`no node ${pod.node}`);
  return node;
}

/** The packet counter of kindnetd's MASQUERADE rule (KIND-MASQ-AGENT rule 2) on a node. */
async function masqueraded(netns: string): Promise<number> {
  const r = await lab.exec(netns, ["iptables", "-t", "nat", "-L", KINDNET_MASQ_CHAIN, "2", "-v", "-x", "-n"]);
  const n = Number(r.stdout.trim().split(/\s+/)[0]);
  if (!Number.isFinite(n))
    throw new Error(`no counter for ${KINDNET_MASQ_CHAIN} rule 2: ${r.stdout} ${r.stderr}`);
  return n;
}

async function uplinkPackets(netns: string): Promise<number> {
  const c = (await lab.linkCounters(netns)).get("eth0");
  if (!c) throw new Error(`no eth0 in ${netns}`);
  return c.rxPackets + c.txPackets;
}

const tcp = (src: LabPod, dst: LabPod) =>
  traceLab(lab, { protocol: "tcp", src: src.ip, dst: dst.ip, sport: 40000, dport: TCP_PORT });

const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`[fidelity kindnet] ${figures.join("; ")}`);
});

describe("kindnet: traced paths match real packets", () => {
  it("wires pods the ptp way: each host veth holds the gateway /32 and is found as a pod's", async () => {
    const node = lab.nodes[0];
    if (!node) throw new Error("no node");
    const addr = await lab.exec(node.netns, ["ip", "-4", "-o", "addr", "show"]);
    for (const p of lab.pods.filter((x) => x.node === node.name)) {
      expect(addr.stdout).toMatch(new RegExp(`\\d+: ${p.hostVeth} +inet 10\\.244\\.1\\.1/32 scope global`));
    }
    const route = await lab.exec(node.netns, ["ip", "route", "show"]);
    expect(route.stdout).toContain(`10.244.2.0/24 via ${lab.nodes[1]?.underlayIp} dev eth0`);
    expect(await lab.exec(node.netns, ["ip", "link", "show", "cni0"])).toMatchObject({ code: 1 });
  });

  it("same node: pod → host veth → /32 route → other pod's veth; the uplink and the MASQUERADE rule stay still", async () => {
    const [src, dst] = [podOn(1, 1), podOn(1, 2)];
    const r = await tcp(src, dst);
    expect(r.verdict).toBe("Delivered");
    // The request's hops: up to its delivery (a trace may go on with the reply).
    const forward = r.hops.slice(0, r.hops.findIndex((h) => h.action === "deliver") + 1);
    expect(forward.length).toBeGreaterThan(0);
    const route = forward.find((h) => h.netns === "host" && h.primitive === "route");
    expect(route?.summary).toContain(`${dst.ip}/32: directly connected on ${dst.hostVeth}`);
    expect(forward.map((h) => h.device)).toEqual(expect.arrayContaining([src.hostVeth, dst.hostVeth]));
    expect(forward.some((h) => h.device === "eth0" && h.netns === "host")).toBe(false);
    const netns = nodeOf(src).netns;
    const [eth0Before, masqBefore] = [await uplinkPackets(netns), await masqueraded(netns)];
    const { traced, confirmed } = await confirmWithCounters(lab, r, src, dst);
    expect(confirmed).toBe(traced);
    expect(traced).toBeGreaterThanOrEqual(4);
    expect((await uplinkPackets(netns)) - eth0Before).toBeLessThan(BURST / 2);
    expect((await masqueraded(netns)) - masqBefore).toBe(0);
    figures.push(
      `same-node: ${r.hops.length} hops traced, ${confirmed}/${traced} devices and rules confirmed`,
    );
  });

  it("cross node: via the other node's address over eth0, KIND-MASQ-AGENT returns; both uplinks move, nothing is masqueraded", async () => {
    const [src, dst] = [podOn(1, 1), podOn(2, 2)];
    const r = await tcp(src, dst);
    expect(r.verdict).toBe("Delivered");
    expect(r.hops.some((h) => h.layer === "tunnel")).toBe(false);
    const route = r.hops.find((h) => h.node === src.node && h.netns === "host" && h.primitive === "route");
    expect(route?.summary).toContain(`matches 10.244.2.0/24: via ${nodeOf(dst).underlayIp} dev eth0`);
    const rules = r.hops.filter((h) => h.primitive === "iptables-rule").map((h) => `${h.node} ${h.rule}`);
    expect(rules).toEqual([
      "node-1 nat/POSTROUTING rule 1",
      `node-1 nat/${KINDNET_MASQ_CHAIN} rule 1`,
      "node-2 nat/POSTROUTING rule 1",
      `node-2 nat/${KINDNET_MASQ_CHAIN} rule 1`,
    ]);
    const masqBefore = await Promise.all(lab.nodes.map((n) => masqueraded(n.netns)));
    const { traced, confirmed } = await confirmWithCounters(lab, r, src, dst);
    expect(confirmed).toBe(traced);
    // Both pods' veths and both uplinks (4 devices), and the 4 nat rules.
    expect(traced).toBeGreaterThanOrEqual(8);
    const masqAfter = await Promise.all(lab.nodes.map((n) => masqueraded(n.netns)));
    expect(masqAfter).toEqual(masqBefore);
    figures.push(
      `cross-node: ${r.hops.length} hops traced, ${confirmed}/${traced} devices and rules confirmed`,
    );
  });
});

describe("kindnet node with hand-wired neighbours", () => {
  it("finds a sandbox behind a host veth holding its /24 gateway and a bare veth pair, and traces from the sandbox", async () => {
    const node = lab.nodes[0];
    const pod = podOn(1, 1);
    if (!node) throw new Error("no node");
    const sbx = `${node.netns}-sbx`;
    const bare = `${node.netns}-bare`;
    const ok = async (netns: string, argv: string[]): Promise<void> => {
      const r = await lab.exec(netns, argv);
      expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    };
    try {
      await ok(node.netns, ["ip", "netns", "add", sbx]);
      await ok(node.netns, ["ip", "netns", "add", bare]);
      await ok(node.netns, [
        "ip",
        "link",
        "add",
        "vsbx",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        sbx,
      ]);
      await ok(node.netns, ["ip", "addr", "add", "10.244.201.1/24", "dev", "vsbx"]);
      await ok(node.netns, ["ip", "link", "set", "vsbx", "up"]);
      await ok(sbx, ["ip", "addr", "add", "10.244.201.2/24", "dev", "eth0"]);
      await ok(sbx, ["ip", "link", "set", "eth0", "up"]);
      await ok(sbx, ["ip", "link", "set", "lo", "up"]);
      await ok(sbx, ["ip", "route", "add", "default", "via", "10.244.201.1"]);
      await ok(node.netns, [
        "ip",
        "link",
        "add",
        "vbare",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        bare,
      ]);
      await ok(node.netns, ["ip", "addr", "add", "10.244.202.1/30", "dev", "vbare"]);
      await ok(node.netns, ["ip", "link", "set", "vbare", "up"]);
      await ok(bare, ["ip", "addr", "add", "10.244.202.2/30", "dev", "eth0"]);
      await ok(bare, ["ip", "link", "set", "eth0", "up"]);
      const cap = await collectNode({ node: node.name, hostNetns: node.netns });
      const found = cap.netns.map((n) => [n.manifest.netns, n.manifest.ips]);
      expect(found).toEqual(
        expect.arrayContaining([
          [sbx, ["10.244.201.2"]],
          [bare, ["10.244.202.2"]],
          [pod.netns, [pod.ip]],
        ]),
      );
      expect(found).toHaveLength(1 + 2 + 2);
      const r = await traceLab(lab, { protocol: "icmp", src: "10.244.201.2", dst: pod.ip });
      expect(r.verdict).toBe("Delivered");
      expect(r.hops[0]).toMatchObject({ netns: sbx, primitive: "route" });
      expect(r.hops.map((h) => h.device)).toEqual(expect.arrayContaining(["vsbx", pod.hostVeth]));
      expect(await lab.ping(sbx, pod.ip, { count: 3 })).toBe(3);
    } finally {
      await lab.exec(node.netns, ["ip", "link", "del", "vsbx"]);
      await lab.exec(node.netns, ["ip", "link", "del", "vbare"]);
      await lab.exec(node.netns, ["ip", "netns", "del", sbx]);
      await lab.exec(node.netns, ["ip", "netns", "del", bare]);
    }
  });
});

describe("kindnet: kubectl netmap snapshot, then trace --snapshots", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "netmap-ptp-snap-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The real binary, with a PATH that has no sbin directory (ip, bridge and sysctl are in /usr/sbin). */
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" },
    });

  it("captures every node's pods (the underlay switch behind eth0 is left out, and says why)", () => {
    for (const n of lab.nodes) {
      const r = cli("snapshot", "--host-netns", n.netns, "--node", n.name, "-o", dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`wrote ${n.name} (host netns + 2 pod netns)`);
      expect(r.stderr).toMatch(
        new RegExp(
          `${lab.underlayNetns} \\(\\d/3\\): not a pod: its end of eth0, n${n.index}, is a port of ul0: the veth leads to a switch`,
        ),
      );
    }
  });

  it("traces the cross-node path offline hop for hop as on the live lab", async () => {
    const [src, dst] = [podOn(1, 2), podOn(2, 1)];
    const live = await tcp(src, dst);
    const r = cli("trace", "--snapshots", dir, src.ip, dst.ip, "--port", String(TCP_PORT), "-o", "json");
    expect(r.status, r.stderr).toBe(0);
    const offline = JSON.parse(r.stdout) as TraceResult;
    const path = (t: TraceResult) =>
      t.hops.map((h) => [h.node, h.netns, h.primitive, h.device, h.rule, h.action]);
    expect(offline.verdict).toBe("Delivered");
    expect(path(offline)).toEqual(path(live));
    figures.push(`offline: ${offline.hops.length} hops, same as live`);
  });

  it("--pod-ip that no pod of the node holds is an error listing what was found", () => {
    const n = lab.nodes[0];
    if (!n) throw new Error("no node");
    const other = join(dir, "unused");
    const r = cli(
      "snapshot",
      "--host-netns",
      n.netns,
      "--node",
      n.name,
      "-o",
      other,
      "--pod-ip",
      "10.244.9.9",
    );
    expect(r.status).not.toBe(0);
    const mine = lab.pods.filter((p) => p.node === n.name).map((p) => `${p.netns} (${p.ip})`);
    expect(r.stderr).toContain(
      `node ${n.name}: no pod netns holds 10.244.9.9; found 2 pod netns: ${mine.join(", ")}`,
    );
    expect(r.stderr).toContain(`netns ${lab.underlayNetns} left out: its end of eth0, n1, is a port of ul0`);
    expect(r.stderr).toContain("hint: give --pod-ip an address of a pod on this node");
    const one = cli(
      "snapshot",
      "--host-netns",
      n.netns,
      "--node",
      n.name,
      "-o",
      other,
      "--pod-ip",
      mine[0] ? podOn(1, 1).ip : "",
    );
    expect(one.status, one.stderr).toBe(0);
    expect(one.stderr).toContain(`wrote ${n.name} (host netns + 1 pod netns)`);
  });
});

describe("kindnet: faults injected into the live lab", () => {
  let detected = 0;
  const injected = 2;
  afterAll(() => {
    figures.push(`faults: ${detected}/${injected} detected at the right hop`);
  });

  it("a pod's host veth set down: Dropped with LINK_DOWN on that veth, from the same node and across nodes; pings really fail", async () => {
    const dst = podOn(1, 2);
    await lab.setLinkDown(dst.nodeNetns, dst.hostVeth);
    try {
      for (const src of [podOn(1, 1), podOn(2, 1)]) {
        const r = await traceLab(lab, { protocol: "icmp", src: src.ip, dst: dst.ip });
        expect(r.verdict).toBe("Dropped");
        expect(r.findings[0]).toMatchObject({ code: "LINK_DOWN", node: dst.node, device: dst.hostVeth });
        expect(r.hops[r.findings[0]?.hop ?? -1]).toMatchObject({
          node: dst.node,
          device: dst.hostVeth,
          action: "drop",
        });
        expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
      }
      detected++;
    } finally {
      await lab.setLinkUp(dst.nodeNetns, dst.hostVeth);
      // The pings above left a FAILED neighbour entry for the pod on its veth; the kernel would
      // drop the next packets for a second or so: restore the lab's state.
      await lab.exec(dst.nodeNetns, ["ip", "neigh", "flush", "dev", dst.hostVeth]);
    }
    expect(await lab.ping(podOn(1, 1), dst.ip, { count: 3 })).toBe(3);
  });

  it("the route to the other node's pod CIDR missing: Dropped with NO_ROUTE at the source node's route lookup; pings really fail", async () => {
    const [src, dst] = [podOn(1, 1), podOn(2, 2)];
    const [n1, n2] = [nodeOf(src), nodeOf(dst)];
    await lab.exec(n1.netns, ["ip", "route", "del", n2.podCidr, "via", n2.underlayIp]);
    try {
      const r = await traceLab(lab, { protocol: "icmp", src: src.ip, dst: dst.ip });
      expect(r.verdict).toBe("Dropped");
      expect(r.findings[0]).toMatchObject({ code: "NO_ROUTE", node: n1.name });
      expect(r.hops[r.findings[0]?.hop ?? -1]).toMatchObject({
        node: n1.name,
        netns: "host",
        primitive: "route",
        action: "drop",
      });
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
      detected++;
    } finally {
      await lab.exec(n1.netns, ["ip", "route", "add", n2.podCidr, "via", n2.underlayIp]);
    }
    expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(3);
  });
});

import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectNode, readSnapshotDir, writeSnapshot } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, destroyLab, type Lab } from "./lab.js";

async function labNetnsLeft(name: string): Promise<string[]> {
  const all = await readdir("/var/run/netns").catch(() => [] as string[]);
  return all.filter((n) => n.startsWith(`nm-${name}-`));
}

interface IpLink {
  ifname: string;
  master?: string;
  mtu?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

async function json<T>(lab: Lab, netns: string, argv: string[]): Promise<T> {
  const r = await lab.exec(netns, argv);
  expect(r.code, `${argv.join(" ")} in ${netns}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe("kernel lab: 2 nodes × 2 pods over VXLAN", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ name: "t1", nodes: 2, podsPerNode: 2, overlay: "vxlan" });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("cni0 is the plugin's bridge with the pods' veths as ports, and pods sit in their node's CIDR", async () => {
    expect(lab.pods).toHaveLength(4);
    for (const node of lab.nodes) {
      const links = await json<IpLink[]>(lab, node.netns, ["ip", "-j", "-d", "link", "show"]);
      const cni0 = links.find((l) => l.ifname === "cni0");
      expect(cni0?.linkinfo?.info_kind).toBe("bridge");
      expect(cni0?.mtu).toBe(1450);
      const ports = links
        .filter((l) => l.master === "cni0")
        .map((l) => l.ifname)
        .sort();
      const mine = lab.pods.filter((p) => p.node === node.name);
      expect(ports).toEqual(mine.map((p) => p.hostVeth).sort());
      for (const p of mine) {
        const addrs = await json<
          Array<{ ifname: string; address?: string; addr_info: Array<{ family: string; local: string }> }>
        >(lab, p.netns, ["ip", "-j", "addr", "show", "dev", "eth0"]);
        const v4 = addrs[0]?.addr_info.filter((a) => a.family === "inet").map((a) => a.local);
        expect(v4).toEqual([p.ip]);
        expect(p.ip.startsWith(`10.244.${node.index}.`)).toBe(true);
        expect(addrs[0]?.address).toBe(p.mac);
      }
      // no way out of the lab: no default route in a node netns
      const routes = await json<Array<{ dst: string }>>(lab, node.netns, ["ip", "-j", "route", "show"]);
      expect(routes.map((r) => r.dst)).not.toContain("default");
    }
  });

  it("flannel.1 has onlink routes, permanent neighbours and FDB entries for every remote node", async () => {
    for (const node of lab.nodes) {
      const links = await json<IpLink[]>(lab, node.netns, ["ip", "-j", "-d", "link", "show", "flannel.1"]);
      const data = links[0]?.linkinfo?.info_data ?? {};
      expect(links[0]?.linkinfo?.info_kind).toBe("vxlan");
      expect(data.id).toBe(1);
      expect(data.port).toBe(8472);
      expect(data.learning).toBe(false);
      expect(data.local).toBe(node.underlayIp);
      const routes = await json<Array<{ dst: string; gateway?: string; dev: string; flags: string[] }>>(
        lab,
        node.netns,
        ["ip", "-j", "route", "show"],
      );
      const neigh = await json<Array<{ dst: string; lladdr?: string; dev: string; state?: string[] }>>(
        lab,
        node.netns,
        ["ip", "-j", "neigh", "show", "dev", "flannel.1"],
      );
      const fdb = await json<Array<{ mac: string; dst?: string; ifname?: string }>>(lab, node.netns, [
        "bridge",
        "-j",
        "fdb",
        "show",
        "dev",
        "flannel.1",
      ]);
      for (const remote of lab.nodes.filter((n) => n !== node)) {
        const r = routes.find((x) => x.dst === remote.podCidr);
        expect(r).toMatchObject({ gateway: `10.244.${remote.index}.0`, dev: "flannel.1" });
        expect(r?.flags).toContain("onlink");
        const n = neigh.find((x) => x.dst === `10.244.${remote.index}.0`);
        expect(n?.lladdr).toBe(remote.vtepMac);
        expect(n?.state).toContain("PERMANENT");
        expect(fdb.find((x) => x.mac === remote.vtepMac)?.dst).toBe(remote.underlayIp);
      }
    }
  });

  it("a ping between pods on different nodes is received, and moves flannel.1 counters", async () => {
    const a = lab.pods.find((p) => p.node === "node-1");
    const b = lab.pods.find((p) => p.node === "node-2");
    if (!a || !b) throw new Error("lab has pods on both nodes");
    const before = await lab.linkCounters(a.nodeNetns);
    expect(await lab.ping(a, b.ip, { count: 5 })).toBe(5);
    const after = await lab.linkCounters(a.nodeNetns);
    const d = (after.get("flannel.1")?.txPackets ?? 0) - (before.get("flannel.1")?.txPackets ?? 0);
    expect(d).toBeGreaterThanOrEqual(5);
  });

  it("a bounded TCP exchange between pods on different nodes completes", async () => {
    const a = lab.pods.find((p) => p.node === "node-1");
    const b = lab.pods.find((p) => p.node === "node-2");
    if (!a || !b) throw new Error("lab has pods on both nodes");
    const r = await lab.tcpProbe(a, b.ip, 8080, { connections: 3 });
    expect(r).toMatchObject({ connected: 3, failed: 0, accepted: 3 });
  });

  it("node sysctls: ip_forward on, bridge-nf-call-iptables on where the kernel has it", async () => {
    for (const node of lab.nodes) {
      const fwd = await lab.exec(node.netns, ["sysctl", "-n", "net.ipv4.ip_forward"]);
      expect(fwd.stdout.trim()).toBe("1");
      if (node.bridgeNfCallIptables) {
        const nf = await lab.exec(node.netns, ["sysctl", "-n", "net.bridge.bridge-nf-call-iptables"]);
        expect(nf.stdout.trim()).toBe("1");
      }
    }
    console.log(
      JSON.stringify({
        msg: "lab br_netfilter",
        modprobe: lab.brNetfilterModprobe,
        bridgeNfCallIptables: lab.nodes.map((n) => n.bridgeNfCallIptables),
      }),
    );
  });

  it("refuses to send to an address outside the lab", async () => {
    const a = lab.pods[0];
    if (!a) throw new Error("lab has pods");
    await expect(lab.ping(a, "8.8.8.8", { count: 1 })).rejects.toThrow(/not a lab address/);
    await expect(lab.exec("other-netns", ["true"])).rejects.toThrow(/not part of lab/);
  });

  it("collectNode captures host + exactly this node's 2 pod netns with their ips", async () => {
    for (const node of lab.nodes) {
      const events: string[] = [];
      const cap = await collectNode({
        node: node.name,
        hostNetns: `/var/run/netns/${node.netns}`,
        onProgress: (e) => events.push(e.stage),
      });
      const mine = lab.pods.filter((p) => p.node === node.name);
      expect(cap.manifest.node).toBe(node.name);
      expect(cap.netns[0]?.manifest.netns).toBe("host");
      const pods = cap.netns.slice(1).map((n) => ({ netns: n.manifest.netns, ips: n.manifest.ips }));
      expect(pods).toEqual(
        mine.map((p) => ({ netns: p.netns, ips: [p.ip] })).sort((x, y) => x.netns.localeCompare(y.netns)),
      );
      const host = cap.netns[0];
      expect(host?.manifest.sources["iptables-save"]?.status).toBe("ok");
      expect(host?.outputs["iptables-save"]).toMatch(/CNI-/); // the plugin's ipMasq rules
      expect(host?.manifest.sources.ipvsadm?.status).toBe("absent");
      expect(host?.outputs["bridge-fdb"]).toContain(
        `"${node.vtepMac === lab.nodes[0]?.vtepMac ? lab.nodes[1]?.vtepMac : lab.nodes[0]?.vtepMac}"`,
      );
      // Pod netns are read for their own rules too (none here: an empty dump), but not for IPVS.
      expect(cap.netns[1]?.manifest.sources["iptables-save"]?.status).toBe("ok");
      expect(cap.netns[1]?.manifest.sources.ipvsadm).toBeUndefined(); // host-scope only
      expect(cap.manifest.tools.ip).toMatch(/iproute2/);
      expect(events).toContain("done");
    }
  });

  it("collectNode with podIps reads only the pod netns holding them", async () => {
    const node = lab.nodes[0];
    const target = lab.pods.find((p) => p.node === node?.name);
    if (!node || !target) throw new Error("lab has a pod on node 1");
    const other = lab.pods.find((p) => p.node !== node.name);
    const cap = await collectNode({
      node: node.name,
      hostNetns: node.netns,
      podIps: [target.ip, other?.ip ?? "10.244.99.9"],
      pods: [{ namespace: target.namespace, name: target.name, ips: [target.ip] }],
    });
    expect(cap.netns.map((n) => n.manifest.netns)).toEqual(["host", target.netns]);
    expect(cap.netns[1]?.manifest.pod).toEqual({ namespace: target.namespace, name: target.name });
  });
  it("snapshots of every node round-trip through writeSnapshot / readSnapshotDir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "netmap-lab-snap-"));
    try {
      for (const node of lab.nodes) {
        await writeSnapshot(dir, await collectNode({ node: node.name, hostNetns: node.netns }));
      }
      const read = await readSnapshotDir(dir);
      expect(read.map((n) => n.manifest.node)).toEqual(["node-1", "node-2"]);
      for (const n of read) {
        expect(n.netns).toHaveLength(3);
        expect(JSON.parse(n.netns[0]?.outputs["ip-link"] ?? "null")).toBeInstanceOf(Array);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("collectNode finds a pod netns held only by a process (not under /var/run/netns) via /proc", async () => {
    const node = lab.nodes[0];
    if (!node) throw new Error("lab has a node");
    // A bounded process in a fresh, unnamed netns, wired to node-1's cni0 like a pod.
    const holder = spawn("unshare", ["--net", "--", "sleep", "30"], { stdio: "ignore" });
    try {
      const pid = holder.pid;
      if (pid === undefined) throw new Error("unshare did not start");
      await new Promise((r) => setTimeout(r, 200));
      const ok = async (argv: string[]): Promise<void> => {
        const r = await lab.exec(node.netns, argv);
        expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
      };
      await ok(["ip", "link", "add", "vethfb", "type", "veth", "peer", "name", "eth0", "netns", String(pid)]);
      await ok(["ip", "link", "set", "vethfb", "master", "cni0", "up"]);
      await ok([
        "nsenter",
        `--net=/proc/${pid}/ns/net`,
        "--",
        "ip",
        "addr",
        "add",
        "10.244.1.200/24",
        "dev",
        "eth0",
      ]);
      await ok(["nsenter", `--net=/proc/${pid}/ns/net`, "--", "ip", "link", "set", "eth0", "up"]);
      const cap = await collectNode({ node: node.name, hostNetns: node.netns });
      const found = cap.netns.find((n) => n.manifest.ips?.includes("10.244.1.200"));
      expect(found?.manifest.path).toMatch(/^\/proc\/\d+\/ns\/net$/);
      expect(found?.manifest.netns).toMatch(/^ns-\d+$/);
      expect(cap.netns).toHaveLength(4);
    } finally {
      holder.kill("SIGKILL");
      await lab.exec(node.netns, ["ip", "link", "del", "vethfb"]);
    }
  });
});

describe("kernel lab: host-gw", () => {
  it("routes pods over the underlay without a tunnel, and cleans up", async () => {
    const lab = await createLab({ name: "t2", nodes: 2, podsPerNode: 1, overlay: "host-gw" });
    try {
      expect(lab.podMtu).toBe(1500);
      const [a, b] = lab.pods;
      if (!a || !b) throw new Error("lab has two pods");
      const links = await json<IpLink[]>(lab, a.nodeNetns, ["ip", "-j", "link", "show"]);
      expect(links.map((l) => l.ifname)).not.toContain("flannel.1");
      const routes = await json<Array<{ dst: string; gateway?: string }>>(lab, a.nodeNetns, [
        "ip",
        "-j",
        "route",
        "show",
      ]);
      expect(routes.find((r) => r.dst === "10.244.2.0/24")?.gateway).toBe(lab.nodes[1]?.underlayIp);
      expect(await lab.ping(a, b.ip, { count: 3 })).toBe(3);
    } finally {
      await lab.destroy();
      await lab.destroy(); // idempotent
    }
    expect(await labNetnsLeft("t2")).toEqual([]);
  });
});

describe("kernel lab: teardown", () => {
  it("leaves no nm-t1- netns after destroy", async () => {
    await destroyLab("t1");
    expect(await labNetnsLeft("t1")).toEqual([]);
  });
});

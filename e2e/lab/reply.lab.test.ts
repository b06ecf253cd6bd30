/**
 * Replies, for real. Each case is a topology built the way a hand-wired node (or a tutorial) builds
 * it, where a connection's request arrives but its reply cannot come back: real TCP connections must
 * fail, and netmap must say Dropped on the reply, at the right hop, with the right finding. Then the
 * same case is fixed: connections work, and netmap says Delivered both ways.
 */
import type { TraceResult } from "@netmap/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab, LabPod } from "./lab.js";
import { createLab } from "./lab.js";
import { traceLab } from "./trace.js";

const CONNECTIONS = 5;
const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`[reply] ${figures.join("; ")}`);
});

const tcp = (src: string, dst: string, dport: number) =>
  ({ protocol: "tcp", src, dst, sport: 40000, dport }) as const;

function replyStop(r: TraceResult) {
  expect(r.directions.map((d) => `${d.direction} ${d.verdict}`)).toEqual([
    "request Delivered",
    "reply Dropped",
  ]);
  expect(r.stoppedIn).toBe("reply");
  const stop = r.hops[r.stoppedAt ?? -1];
  expect(stop?.direction).toBe("reply");
  return stop;
}

/**
 * Runs `probe` and says how many packets the server's eth0 received and sent meanwhile: that the
 * request arrived and the server answered, whatever became of the answer (a connection whose
 * handshake never completes is never accept()ed, so the server's own count stays 0).
 */
async function withServerCounters<T>(
  lab: Lab,
  server: LabPod,
  probe: () => Promise<T>,
): Promise<{ result: T; rx: number; tx: number }> {
  const before = (await lab.linkCounters(server.netns)).get("eth0");
  const result = await probe();
  const after = (await lab.linkCounters(server.netns)).get("eth0");
  if (!before || !after) throw new Error(`no eth0 counters in ${server.netns}`);
  return { result, rx: after.rxPackets - before.rxPackets, tx: after.txPackets - before.txPackets };
}

function deliveredBothWays(r: TraceResult): void {
  expect(r.directions.map((d) => `${d.direction} ${d.verdict}`)).toEqual([
    "request Delivered",
    "reply Delivered",
  ]);
  expect(r.verdict).toBe("Delivered");
}

describe("on one bridge (VXLAN lab, 2 nodes)", () => {
  let lab: Lab;
  let client: LabPod;
  let server: LabPod;
  let nodeNetns: string;

  beforeAll(async () => {
    lab = await createLab({ name: "replybr", nodes: 2, podsPerNode: 2, overlay: "vxlan" });
    client = lab.pod("pod-1-2");
    server = lab.pod("pod-1-1");
    nodeNetns = client.nodeNetns;
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("a Service whose endpoint shares the client's bridge, with bridge-nf-call-iptables=0: the reply is bridged around conntrack", async () => {
    if (!lab.nodes[0]?.bridgeNfCallIptables) {
      throw new Error(
        "this kernel has no bridge-nf-call-iptables in a netns: br_netfilter is needed for this test",
      );
    }
    // A ClusterIP shaped like kube-proxy's (nat PREROUTING → KUBE-SERVICES → KUBE-SEP DNAT), whose one
    // endpoint is the server pod on the client's own bridge.
    const vip = "10.96.99.10";
    await lab.iptables(nodeNetns, ["-t", "nat", "-N", "KUBE-SERVICES"]);
    await lab.iptables(nodeNetns, ["-t", "nat", "-N", "KUBE-SEP-REPLYTEST"]);
    await lab.iptables(nodeNetns, ["-t", "nat", "-I", "PREROUTING", "1", "-j", "KUBE-SERVICES"]);
    await lab.iptables(nodeNetns, [
      ...["-t", "nat", "-A", "KUBE-SERVICES", "-d", `${vip}/32`, "-p", "tcp", "-m", "tcp", "--dport", "80"],
      ...["-j", "KUBE-SEP-REPLYTEST"],
    ]);
    await lab.iptables(nodeNetns, [
      ...["-t", "nat", "-A", "KUBE-SEP-REPLYTEST", "-p", "tcp", "-m", "tcp"],
      ...["-j", "DNAT", "--to-destination", `${server.ip}:8080`],
    ]);
    const probe = () =>
      lab.tcpProbe(client, vip, 80, { connections: CONNECTIONS, serverPods: [server], serverPort: 8080 });

    await lab.setSysctl(nodeNetns, "net.bridge.bridge-nf-call-iptables", "0");
    try {
      const broken = await traceLab(lab, tcp(client.ip, vip, 80));
      const stop = replyStop(broken);
      expect(stop).toMatchObject({ netns: client.netns, primitive: "local", action: "drop" });
      const f = broken.findings.find((x) => x.code === "BR_NETFILTER_OFF" && x.severity === "error");
      expect(broken.hops[f?.hop ?? -1]).toMatchObject({
        direction: "reply",
        primitive: "bridge-port",
        device: server.hostVeth,
      });
      expect(f?.message).toContain(`its source stays ${server.ip}:8080 instead of ${vip}:80`);
      const { result: real, rx, tx } = await withServerCounters(lab, server, probe);
      expect(real.connected, real.errors.join("; ")).toBe(0);
      // The requests arrived and the server answered them, as traced; the answers made no connection.
      expect(rx).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(tx).toBeGreaterThanOrEqual(CONNECTIONS);
      // conntrack's own view: the entry that DNATed the requests never saw a reply.
      const ct = await lab.exec(nodeNetns, ["conntrack", "-L", "-p", "tcp", "--orig-dst", vip]);
      expect(ct.stdout).toContain("[UNREPLIED]");
      figures.push(
        `br_netfilter off: ${real.connected}/${CONNECTIONS} connected, server eth0 rx ${rx} tx ${tx}, conntrack UNREPLIED; traced reply Dropped at hop ${broken.stoppedAt} (BR_NETFILTER_OFF at hop ${f?.hop})`,
      );
    } finally {
      await lab.setSysctl(nodeNetns, "net.bridge.bridge-nf-call-iptables", "1");
    }
    const fixed = await traceLab(lab, tcp(client.ip, vip, 80));
    deliveredBothWays(fixed);
    expect(fixed.hops.find((h) => h.direction === "reply" && h.action === "un-dnat")?.packet).toMatchObject({
      src: vip,
      sport: 80,
    });
    const real = await probe();
    expect(real.connected, real.errors.join("; ")).toBe(CONNECTIONS);
    figures.push(`br_netfilter on: ${real.connected}/${CONNECTIONS} connected, Delivered both ways`);
  });

  it("pod-to-pod on the bridge masqueraded to the bridge's address, with ip_forward=0: bridged out, routed (and dropped) back", async () => {
    const from = lab.pod("pod-2-1");
    const to = lab.pod("pod-2-2");
    const netns = from.nodeNetns;
    // The tutorial rule without `! -o cni0`, ahead of the CNI plugin's own rules.
    const rule = ["-t", "nat", "-I", "POSTROUTING", "1", "-s", "10.244.2.0/24", "-j", "MASQUERADE"];
    await lab.iptables(netns, rule);
    await lab.setSysctl(netns, "net.ipv4.ip_forward", "0");
    const probe = () => lab.tcpProbe(from, to.ip, 8080, { connections: CONNECTIONS, serverPods: [to] });
    try {
      const broken = await traceLab(lab, tcp(from.ip, to.ip, 8080));
      const stop = replyStop(broken);
      expect(stop).toMatchObject({ node: from.node, netns: "host" });
      expect(broken.findings).toEqual([
        expect.objectContaining({ code: "IP_FORWARD_DISABLED", hop: broken.stoppedAt }),
      ]);
      expect(
        broken.hops.find((h) => h.direction === "request" && h.action === "masquerade")?.packet?.src,
      ).toBe("10.244.2.1");
      const { result: real, rx, tx } = await withServerCounters(lab, to, probe);
      expect(real.connected, real.errors.join("; ")).toBe(0);
      // The requests arrived and the server answered them, as traced; the answers made no connection.
      expect(rx).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(tx).toBeGreaterThanOrEqual(CONNECTIONS);
      figures.push(
        `ip_forward=0 + bridge MASQUERADE: ${real.connected}/${CONNECTIONS} connected, server eth0 rx ${rx} tx ${tx}; traced reply Dropped with IP_FORWARD_DISABLED`,
      );
      await lab.setSysctl(netns, "net.ipv4.ip_forward", "1");
      const fixed = await traceLab(lab, tcp(from.ip, to.ip, 8080));
      deliveredBothWays(fixed);
      expect(fixed.hops.some((h) => h.direction === "reply" && h.action === "un-snat")).toBe(true);
      const ok = await probe();
      expect(ok.connected, ok.errors.join("; ")).toBe(CONNECTIONS);
      figures.push(`ip_forward=1: ${ok.connected}/${CONNECTIONS} connected, Delivered both ways`);
    } finally {
      await lab.setSysctl(netns, "net.ipv4.ip_forward", "1");
      await lab.iptables(netns, [
        "-t",
        "nat",
        "-D",
        "POSTROUTING",
        "-s",
        "10.244.2.0/24",
        "-j",
        "MASQUERADE",
      ]);
    }
  });
});

describe("an asymmetric reply (VXLAN lab, 2 nodes)", () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: "replyasym", nodes: 2, podsPerNode: 2, overlay: "vxlan" });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("a port forward on node-1 to a pod beside the client on node-2, without MASQUERADE: the reply never goes back through node-1 (REPLY_BYPASSES_NAT)", async () => {
    const client = lab.pod("pod-2-1");
    const server = lab.pod("pod-2-2");
    const [n1] = lab.nodes;
    if (!n1) throw new Error("lab needs node-1");
    // What a NodePort with externalTrafficPolicy: Local-style rules, or a hand-written port forward, does.
    const forward = [
      ...["-t", "nat", "-I", "PREROUTING", "1", "-d", `${n1.underlayIp}/32`, "-p", "tcp", "-m", "tcp"],
      ...["--dport", "30080", "-j", "DNAT", "--to-destination", `${server.ip}:8080`],
    ];
    const masq = [
      "-t",
      "nat",
      "-I",
      "POSTROUTING",
      "1",
      "-d",
      `${server.ip}/32`,
      "-p",
      "tcp",
      "-j",
      "MASQUERADE",
    ];
    // node-2 must not masquerade its pods' traffic to node-1's address (the CNI plugin's ipMasq would:
    // node-2 would then get its own address back as the source, a martian: wiring.lab.test.ts).
    const n2 = lab.nodes.find((n) => n.name === client.node);
    if (!n2) throw new Error("lab lost the client's node");
    const keepSource = ["-t", "nat", "-I", "POSTROUTING", "1", "-d", `${n1.underlayIp}/32`, "-j", "RETURN"];
    await lab.iptables(n2.netns, keepSource);
    await lab.iptables(n1.netns, forward);
    const probe = () =>
      lab.tcpProbe(client, n1.underlayIp, 30080, {
        connections: CONNECTIONS,
        serverPods: [server],
        serverPort: 8080,
      });
    try {
      const broken = await traceLab(lab, tcp(client.ip, n1.underlayIp, 30080));
      const stop = replyStop(broken);
      expect(broken.hops.filter((h) => h.direction === "reply").every((h) => h.node === client.node)).toBe(
        true,
      );
      expect(stop).toMatchObject({ primitive: "local", action: "drop" });
      expect(broken.findings).toEqual([
        expect.objectContaining({ code: "REPLY_BYPASSES_NAT", hop: broken.stoppedAt }),
      ]);
      expect(broken.findings[0]?.message).toContain(
        `DNATed to ${server.ip}:8080 in the host netns of ${n1.name}`,
      );
      const { result: real, rx, tx } = await withServerCounters(lab, server, probe);
      expect(real.connected, real.errors.join("; ")).toBe(0);
      expect(rx).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(tx).toBeGreaterThanOrEqual(CONNECTIONS);
      figures.push(
        `asymmetric port forward: ${real.connected}/${CONNECTIONS} connected, server eth0 rx ${rx} tx ${tx}; traced reply Dropped with REPLY_BYPASSES_NAT`,
      );

      // The fix: node-1 masquerades what it forwards, so the reply comes back through it.
      await lab.iptables(n1.netns, masq);
      const fixed = await traceLab(lab, tcp(client.ip, n1.underlayIp, 30080));
      deliveredBothWays(fixed);
      expect(
        fixed.hops.some((h) => h.direction === "reply" && h.node === n1.name && h.action === "un-dnat"),
      ).toBe(true);
      const ok = await probe();
      expect(ok.connected, ok.errors.join("; ")).toBe(CONNECTIONS);
      figures.push(
        `with MASQUERADE on node-1: ${ok.connected}/${CONNECTIONS} connected, Delivered both ways`,
      );
    } finally {
      const undo = (rule: string[]) => rule.filter((_a, i) => i !== 4).map((a) => (a === "-I" ? "-D" : a));
      await lab.exec(n1.netns, ["iptables", ...undo(forward)]);
      await lab.exec(n1.netns, ["iptables", ...undo(masq)]);
      await lab.exec(n2.netns, ["iptables", ...undo(keepSource)]);
    }
  });
});

describe("across nodes without a route back (host-gw lab, 2 nodes)", () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: "replyroute", nodes: 2, podsPerNode: 1, overlay: "host-gw" });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("no MASQUERADE towards a node that has no route back to the client's pods: the reply has nowhere to go", async () => {
    const from = lab.pod("pod-1-1");
    const to = lab.pod("pod-2-1");
    const [n1, n2] = lab.nodes;
    if (!n1 || !n2) throw new Error("lab needs 2 nodes");
    // Node-2 does not know node-1's pod CIDR, and node-1 stops masquerading pod traffic to node-2
    // (a RETURN ahead of the CNI plugin's ipMasq rules).
    const noMasq = ["-t", "nat", "-I", "POSTROUTING", "1", "-d", n2.podCidr, "-j", "RETURN"];
    await lab.exec(n2.netns, ["ip", "route", "del", n1.podCidr]);
    await lab.iptables(n1.netns, noMasq);
    const probe = () => lab.tcpProbe(from, to.ip, 8080, { connections: CONNECTIONS, serverPods: [to] });
    try {
      const broken = await traceLab(lab, tcp(from.ip, to.ip, 8080));
      const stop = replyStop(broken);
      expect(stop).toMatchObject({ node: n2.name, netns: "host", primitive: "route", action: "drop" });
      expect(broken.findings).toEqual([expect.objectContaining({ code: "NO_ROUTE", node: n2.name })]);
      const { result: real, rx, tx } = await withServerCounters(lab, to, probe);
      expect(real.connected, real.errors.join("; ")).toBe(0);
      // The requests arrived and the server answered them, as traced; the answers made no connection.
      expect(rx).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(tx).toBeGreaterThanOrEqual(CONNECTIONS);
      figures.push(
        `no MASQUERADE, no route back: ${real.connected}/${CONNECTIONS} connected, server eth0 rx ${rx} tx ${tx}; traced reply Dropped with NO_ROUTE on ${n2.name}`,
      );

      // The fix: masquerade again (the reply then goes to node-1's own address, which node-2 reaches).
      await lab.iptables(n1.netns, ["-t", "nat", "-D", "POSTROUTING", "-d", n2.podCidr, "-j", "RETURN"]);
      const fixed = await traceLab(lab, tcp(from.ip, to.ip, 8080));
      deliveredBothWays(fixed);
      expect(fixed.directions[1]?.packet.dst).toBe(n1.underlayIp);
      const ok = await probe();
      expect(ok.connected, ok.errors.join("; ")).toBe(CONNECTIONS);
      figures.push(`with MASQUERADE: ${ok.connected}/${CONNECTIONS} connected, Delivered both ways`);
    } finally {
      await lab.exec(n1.netns, [
        "iptables",
        ...noMasq.map((a) => (a === "-I" ? "-D" : a)).filter((a) => a !== "1"),
      ]);
      await lab.exec(n2.netns, ["ip", "route", "replace", n1.podCidr, "via", n1.underlayIp, "dev", "eth0"]);
    }
  });
});

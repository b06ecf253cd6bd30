/**
 * Answers that were wrong on hand-built topologies, each rebuilt for real in the lab: the trace must
 * name the real cause at its hop, and real traffic must agree.
 */
import type { TraceResult } from "@netmap/core";
import { collectNodeForTrace } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./exec.js";
import type { Lab, LabPod } from "./lab.js";
import { createLab } from "./lab.js";
import { requestEnd, traceLab } from "./trace.js";

let lab: Lab;
beforeAll(async () => {
  lab = await createLab({ name: "wiring", nodes: 2, podsPerNode: 3, overlay: "vxlan" });
});
afterAll(async () => {
  await lab?.destroy();
});

const icmp = (src: string, dst: string) => ({ protocol: "icmp", src, dst }) as const;
const pod = (name: string): LabPod => lab.pod(name);

describe("broken wiring is named where it is", () => {
  it("a pod whose host veth is down: its routes are marked linkdown and still used, so the cause is LINK_DOWN, not NO_ROUTE", async () => {
    const src = pod("pod-1-3");
    const dst = pod("pod-1-1");
    await lab.setLinkDown(src.nodeNetns, src.hostVeth);
    try {
      const routes = await lab.exec(src.netns, ["ip", "-j", "route", "show"]);
      expect(routes.stdout).toContain("linkdown");
      const r = await traceLab(lab, icmp(src.ip, dst.ip));
      expect(r.verdict).toBe("Dropped");
      expect(requestEnd(r)).toMatchObject({ netns: src.netns, device: "eth0", action: "drop" });
      expect(r.findings).toEqual([expect.objectContaining({ code: "LINK_DOWN", device: src.hostVeth })]);
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
    } finally {
      await lab.setLinkUp(src.nodeNetns, src.hostVeth);
    }
  });

  it("a pod's host veth taken out of cni0 (nomaster): VETH_NOT_IN_BRIDGE at the FDB, and pings really fail", async () => {
    const src = pod("pod-1-1");
    const dst = pod("pod-1-2");
    await lab.exec(dst.nodeNetns, ["ip", "link", "set", dst.hostVeth, "nomaster"]);
    try {
      const r = await traceLab(lab, icmp(src.ip, dst.ip));
      expect(r.verdict).toBe("Dropped");
      expect(requestEnd(r)).toMatchObject({ primitive: "fdb", device: "cni0", action: "drop" });
      expect(r.findings).toEqual([
        expect.objectContaining({ code: "VETH_NOT_IN_BRIDGE", device: dst.hostVeth, hop: r.stoppedAt }),
      ]);
      expect(await lab.ping(src, dst.ip, { count: 3 })).toBe(0);
    } finally {
      await lab.exec(dst.nodeNetns, ["ip", "link", "set", dst.hostVeth, "master", "cni0"]);
    }
    // Back in the bridge, the pods reach each other again (once the port forwards and ARP retries).
    let replies = 0;
    for (let i = 0; i < 5 && replies === 0; i++) replies = await lab.ping(src, dst.ip, { count: 2 });
    expect(replies).toBeGreaterThan(0);
  });
});

describe("a martian source, for real", () => {
  it("node-2 masquerades its pod's traffic to node-1's address, node-1 forwards it back to a pod on node-2: node-2 drops it on arrival", async () => {
    const client = pod("pod-2-1");
    const server = pod("pod-2-2");
    const n1 = lab.nodes[0];
    if (!n1) throw new Error("lab has no node-1");
    // The CNI bridge plugin's ipMasq already masquerades pod-2-1's traffic to node-1's address.
    const forward = [
      ...["-t", "nat", "-I", "PREROUTING", "1", "-d", `${n1.underlayIp}/32`, "-p", "tcp", "-m", "tcp"],
      ...["--dport", "30080", "-j", "DNAT", "--to-destination", `${server.ip}:8080`],
    ];
    await lab.iptables(n1.netns, forward);
    try {
      const r = await traceLab(lab, {
        protocol: "tcp",
        src: client.ip,
        dst: n1.underlayIp,
        sport: 40000,
        dport: 30080,
      });
      expect(r.verdict).toBe("Dropped");
      expect(requestEnd(r)).toMatchObject({
        node: client.node,
        netns: "host",
        device: "flannel.1",
        action: "drop",
      });
      expect(r.findings).toEqual([expect.objectContaining({ code: "MARTIAN_SOURCE", hop: r.stoppedAt })]);
      // Real packets: the forwarded SYNs reach node-2's flannel.1 and go no further.
      const before = (await lab.linkCounters(server.netns)).get("eth0");
      const real = await lab.tcpProbe(client, n1.underlayIp, 30080, {
        connections: 3,
        serverPods: [server],
        serverPort: 8080,
      });
      const after = (await lab.linkCounters(server.netns)).get("eth0");
      expect(real.connected).toBe(0);
      expect((after?.rxPackets ?? 0) - (before?.rxPackets ?? 0)).toBeLessThan(3);
    } finally {
      await lab.exec(n1.netns, [
        "iptables",
        ...forward.filter((_a, i) => i !== 4).map((a) => (a === "-I" ? "-D" : a)),
      ]);
    }
  });
});

describe("one netfilter pass per netns, as the kernel makes it", () => {
  it("a mark set in PREROUTING on a bridged frame is what FORWARD sees (br_netfilter carries skb->mark through the pass)", async () => {
    const src = pod("pod-2-1");
    const dst = pod("pod-2-2");
    const netns = src.nodeNetns;
    const mark = ["-t", "mangle", "-I", "PREROUTING", "1", "-m", "physdev", "--physdev-in", src.hostVeth];
    const setMark = ["-j", "MARK", "--set-xmark", "0x42/0xffffffff"];
    const seen = ["-t", "filter", "-I", "FORWARD", "1", "-m", "mark", "--mark", "0x42", "-j", "ACCEPT"];
    await lab.iptables(netns, [...mark, ...setMark]);
    await lab.iptables(netns, seen);
    try {
      const r = await traceLab(lab, icmp(src.ip, dst.ip));
      expect(r.directions.map((d) => d.verdict)).toEqual(["Delivered", "Delivered"]);
      const fwd = r.hops.find((h) => h.direction === "request" && h.rule === "filter/FORWARD rule 1");
      expect(fwd, "the trace's FORWARD sees the PREROUTING mark").toMatchObject({ action: "accept" });
      // The kernel agrees: the FORWARD rule matching the mark counts the burst.
      const counter = async () => {
        const out = await lab.exec(netns, [
          "iptables",
          "-t",
          "filter",
          "-L",
          "FORWARD",
          "1",
          "-v",
          "-x",
          "-n",
        ]);
        return Number(out.stdout.trim().split(/\s+/)[0]);
      };
      const before = await counter();
      expect(await lab.ping(src, dst.ip, { count: 5 })).toBe(5);
      expect((await counter()) - before).toBeGreaterThanOrEqual(5);
    } finally {
      await lab.iptables(netns, ["-t", "filter", "-D", "FORWARD", ...seen.slice(5)]);
      await lab.iptables(netns, ["-t", "mangle", "-D", "PREROUTING", ...mark.slice(5), ...setMark]);
    }
  });
});

describe("a node's own netns is a trace source and destination (hostNetwork pods live there)", () => {
  it("from node-1's address to a pod on node-2 and back: Delivered both ways, and the node's own ping is answered", async () => {
    const n1 = lab.nodes[0];
    const dst = pod("pod-2-1");
    if (!n1) throw new Error("lab has no node-1");
    const r = await traceLab(lab, icmp(n1.underlayIp, dst.ip));
    expect(r.directions.map((d) => d.verdict)).toEqual(["Delivered", "Delivered"]);
    expect(r.hops[0]).toMatchObject({ node: n1.name, netns: "host" });
    expect(r.hops.at(-1)).toMatchObject({
      direction: "reply",
      node: n1.name,
      netns: "host",
      action: "deliver",
    });
    const ping = await lab.exec(
      n1.netns,
      ["ping", "-n", "-q", "-c", "3", "-W", "1", "-i", "0.2", "-w", "4", dst.ip],
      {
        timeoutMs: 10_000,
      },
    );
    expect(ping.stdout).toMatch(/3 packets transmitted, 3 (packets )?received/);
  });

  it("from a pod to node-2's address: delivered in node-2's host netns", async () => {
    const n2 = lab.nodes[1];
    if (!n2) throw new Error("lab has no node-2");
    const r = await traceLab(lab, icmp(pod("pod-1-1").ip, n2.underlayIp));
    expect(r.directions.map((d) => d.verdict)).toEqual(["Delivered", "Delivered"]);
    expect(requestEnd(r)).toMatchObject({ node: n2.name, netns: "host", action: "deliver" });
    expect(await lab.ping(pod("pod-1-1"), n2.underlayIp, { count: 3 })).toBe(3);
  });
});

describe("iptables NAT with only a port", () => {
  it("DNAT --to-destination :8080 keeps the address and changes the port, in the trace and for real", async () => {
    const src = pod("pod-1-1");
    const dst = pod("pod-2-2");
    // On the destination's node, as a port redirect in front of a pod (Docker's embedded DNS rules
    // have the same shape: `--to-source :53`).
    const rule = [
      "-t",
      "nat",
      "-I",
      "PREROUTING",
      "1",
      "-d",
      `${dst.ip}/32`,
      "-p",
      "tcp",
      "-m",
      "tcp",
      "--dport",
      "80",
    ];
    const target = ["-j", "DNAT", "--to-destination", ":8080"];
    await lab.iptables(dst.nodeNetns, [...rule, ...target]);
    try {
      const r = await traceLab(lab, { protocol: "tcp", src: src.ip, dst: dst.ip, sport: 40000, dport: 80 });
      const dnat = r.hops.find((h) => h.action === "dnat");
      expect(dnat).toMatchObject({ node: dst.node, netns: "host" });
      expect(dnat?.packet).toMatchObject({ dst: dst.ip, dport: 8080 });
      expect(r.directions.map((d) => d.verdict)).toEqual(["Delivered", "Delivered"]);
      // The reply gets its source port back from conntrack.
      expect(r.hops.find((h) => h.direction === "reply" && h.action === "un-dnat")?.packet).toMatchObject({
        src: dst.ip,
        sport: 80,
      });
      const real = await lab.tcpProbe(src, dst.ip, 80, {
        connections: 3,
        serverPods: [dst],
        serverPort: 8080,
      });
      expect(real.connected, real.errors.join("; ")).toBe(3);
    } finally {
      await lab.iptables(dst.nodeNetns, ["-t", "nat", "-D", "PREROUTING", ...rule.slice(5), ...target]);
    }
  });
});

describe("a pod's own iptables rules are on its path (a sidecar mesh's or Docker DNS's redirects)", () => {
  it("an OUTPUT redirect in the client pod's netns: the trace shows it in that netns, and the probe's trace read has it too", async () => {
    const src = pod("pod-1-2");
    const dst = pod("pod-2-1");
    const rule = [
      "-t",
      "nat",
      "-A",
      "OUTPUT",
      "-d",
      `${dst.ip}/32`,
      "-p",
      "tcp",
      "-m",
      "tcp",
      "--dport",
      "80",
    ];
    const target = ["-j", "DNAT", "--to-destination", ":8080"];
    await lab.exec(src.netns, ["iptables", ...rule, ...target]);
    try {
      const r = await traceLab(lab, { protocol: "tcp", src: src.ip, dst: dst.ip, sport: 40000, dport: 80 });
      const dnat = r.hops.find((h) => h.action === "dnat");
      expect(dnat).toMatchObject({ netns: src.netns, rule: "nat/OUTPUT rule 1" });
      expect(dnat?.command).toBe(`ip netns exec ${src.netns} iptables -t nat -S OUTPUT`);
      expect(r.directions.map((d) => d.verdict)).toEqual(["Delivered", "Delivered"]);
      const real = await lab.tcpProbe(src, dst.ip, 80, {
        connections: 3,
        serverPods: [dst],
        serverPort: 8080,
      });
      expect(real.connected, real.errors.join("; ")).toBe(3);
      // The probe's own read for a trace (host netfilter on demand) reads the pods' rules whole.
      const node = lab.nodes.find((n) => n.name === src.node);
      if (!node) throw new Error("lab lost node-1");
      const forTrace = await collectNodeForTrace({
        node: node.name,
        hostNetns: `/var/run/netns/${node.netns}`,
      });
      try {
        const podState = forTrace.state.pods.find((p) => p.ips.includes(src.ip))?.state;
        expect(podState?.netfilter.iptables?.tables.get("nat")?.chain("OUTPUT")?.rules.length).toBe(1);
      } finally {
        forTrace.release();
      }
    } finally {
      await lab.exec(src.netns, ["iptables", ...rule.map((a) => (a === "-A" ? "-D" : a)), ...target]);
    }
  });
});

describe("the command on every hop runs as shown, in the netns its evidence came from", () => {
  async function runAll(r: TraceResult): Promise<number> {
    let ran = 0;
    for (const h of r.hops) {
      // Read-only commands netmap prints (ip/bridge show and get, iptables -S, nft list, conntrack -L).
      const out = await run(["sh", "-c", h.command], { timeoutMs: 10_000 });
      // `… | grep MAC` finds nothing when the evidence is an absence ("FDB has no entry"): grep exits 1.
      const ok = out.code === 0 || (out.code === 1 && h.command.includes("| grep") && out.stderr === "");
      expect(ok, `hop ${h.index}: \`${h.command}\` failed (${out.code}): ${out.stderr}`).toBe(true);
      if (h.primitive === "iptables-rule") {
        // The rule the evidence shows is in what the command lists (counters aside).
        const rule = (h.evidence[0]?.text ?? "").replace(/^\[\d+:\d+\] /, "");
        expect(out.stdout, `hop ${h.index}: \`${h.command}\``).toContain(rule);
      }
      ran++;
    }
    return ran;
  }

  it("for a cross-node trace through the CNI plugin's iptables rules, both ways", async () => {
    const r = await traceLab(lab, {
      protocol: "tcp",
      src: pod("pod-1-1").ip,
      dst: pod("pod-2-1").ip,
      sport: 40000,
      dport: 8080,
    });
    expect(
      r.hops.some((h) => h.primitive === "iptables-rule" && h.command.startsWith("ip netns exec ")),
    ).toBe(true);
    expect(await runAll(r)).toBe(r.hops.length);
  });
});

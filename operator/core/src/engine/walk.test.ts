import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Direction, TraceResult } from "../model/trace.js";
import { parseIptablesSave } from "../parsers/iptables/index.js";
import { compareEveryWholeClusterResult, trace } from "./testdata/golden.js";
import {
  linkOf,
  node,
  podState,
  requestEnd,
  strictRpFilterVia2ndUplink,
  tcp,
  topology,
} from "./testdata/models.js";

compareEveryWholeClusterResult(import.meta.url);

/** "node/netns/device:action" for each hop of one direction, the path as a reader scans it. */
function path(r: TraceResult, direction: Direction = "request"): string[] {
  return r.hops
    .filter((h) => h.direction === direction)
    .map((h) => `${h.node}/${h.netns}/${h.device ?? h.rule ?? "-"}:${h.action}`);
}

describe("pod to pod on the same node over a bridge", () => {
  it("crosses eth0, the veth peer, the cni0 port, the FDB, the other veth and delivers in the destination pod", () => {
    const t = topology({ overlay: "vxlan" });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Delivered");
    expect(path(r)).toEqual([
      "node-1/cni-n1p1/eth0:lookup",
      "node-1/cni-n1p1/eth0:transmit",
      "node-1/host/veth11:receive",
      "node-1/host/veth11:forward",
      "node-1/host/cni0:forward",
      "node-1/host/veth12:transmit",
      "node-1/cni-n1p2/eth0:receive",
      "node-1/cni-n1p2/eth0:deliver",
    ]);
    const fdb = r.hops.find((h) => h.primitive === "fdb");
    expect(fdb?.evidence[0]?.text).toContain("0a:58:0b:01:02:01 dev veth12 master cni0");
    expect(r.hops[0]?.command).toBe("ip -n cni-n1p1 route get 10.244.1.12");
    expect(r.hops.every((h) => h.evidence.length > 0)).toBe(true);
    const reply = { protocol: "tcp", src: "10.244.1.12", sport: 80, dst: "10.244.1.11", dport: 40000 };
    expect(path(r, "reply")).toEqual([
      "node-1/cni-n1p2/eth0:lookup",
      "node-1/cni-n1p2/eth0:transmit",
      "node-1/host/veth12:receive",
      "node-1/host/veth12:forward",
      "node-1/host/cni0:forward",
      "node-1/host/veth11:transmit",
      "node-1/cni-n1p1/eth0:receive",
      "node-1/cni-n1p1/eth0:deliver",
    ]);
    expect(r.segments).toEqual([
      {
        node: "node-1",
        direction: "request",
        firstHop: 0,
        lastHop: 7,
        packetIn: r.packet,
        packetOut: r.packet,
      },
      { node: "node-1", direction: "reply", firstHop: 8, lastHop: 15, packetIn: reply, packetOut: reply },
    ]);
    expect(r.directions.map((d) => [d.direction, d.verdict, d.stoppedAt])).toEqual([
      ["request", "Delivered", 7],
      ["reply", "Delivered", 15],
    ]);
    expect(r.stoppedAt).toBe(15);
    expect(r.stoppedIn).toBeUndefined();
  });

  it("floods through the bridge when the FDB has not learned the destination MAC yet", () => {
    const t = topology({ overlay: "vxlan" });
    node(t, 1).host.fdb = [];
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Delivered");
    expect(r.hops.find((h) => h.primitive === "fdb")?.summary).toMatch(
      /no entry .* flooded to all ports, reaches veth12/,
    );
  });
});

describe("routed CNI without a bridge (/32 routes to host veths)", () => {
  it("goes pod eth0 → host cali veth → /32 route → other cali veth → pod", () => {
    const t = topology({ overlay: "routed" });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Delivered");
    expect(path(r)).toEqual([
      "node-1/cni-n1p1/eth0:lookup",
      "node-1/cni-n1p1/eth0:transmit",
      "node-1/host/cali11:receive",
      "node-1/host/cali12:lookup",
      "node-1/host/cali12:transmit",
      "node-1/cni-n1p2/eth0:receive",
      "node-1/cni-n1p2/eth0:deliver",
    ]);
    expect(r.hops[3]?.evidence[0]?.text).toBe("10.244.1.12 dev cali12 scope link");
  });
});

describe("pod to pod across nodes over VXLAN", () => {
  it("routes to flannel.1, resolves the VTEP through neighbour and FDB, encapsulates, and decapsulates on the remote node", () => {
    const t = topology({ overlay: "vxlan" });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.12") });
    expect(r.verdict).toBe("Delivered");
    expect(path(r)).toEqual([
      "node-1/cni-n1p1/eth0:lookup",
      "node-1/cni-n1p1/eth0:transmit",
      "node-1/host/veth11:receive",
      "node-1/host/veth11:receive",
      "node-1/host/flannel.1:lookup",
      "node-1/host/flannel.1:lookup",
      "node-1/host/flannel.1:lookup",
      "node-1/host/flannel.1:encap",
      "node-1/host/eth0:transmit",
      "node-2/host/flannel.1:decap",
      "node-2/host/cni0:lookup",
      "node-2/host/cni0:transmit",
      "node-2/host/cni0:forward",
      "node-2/host/veth22:transmit",
      "node-2/cni-n2p2/eth0:receive",
      "node-2/cni-n2p2/eth0:deliver",
    ]);
    const encap = r.hops.find((h) => h.action === "encap");
    expect(encap?.outer).toEqual({
      src: "192.168.0.11",
      dst: "192.168.0.12",
      protocol: "udp",
      dport: 8472,
      vni: 1,
    });
    expect(r.hops.find((h) => h.primitive === "neighbour")?.evidence[0]?.text).toBe(
      "10.244.2.0 dev flannel.1 lladdr 0a:58:fe:02:00:01 PERMANENT",
    );
    expect(r.hops.find((h) => h.primitive === "fdb" && h.device === "flannel.1")?.evidence[0]?.text).toBe(
      "0a:58:fe:02:00:01 dev flannel.1 dst 192.168.0.12 self permanent",
    );
    expect(r.segments.map((s) => `${s.direction} ${s.node}`)).toEqual([
      "request node-1",
      "request node-2",
      "reply node-2",
      "reply node-1",
    ]);
    expect(r.findings).toEqual([]);
  });

  it("says Unknown and names the node when the remote VTEP's node was not captured", () => {
    const t = topology({ overlay: "vxlan" });
    const r = trace({ nodes: [node(t, 1)], facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.12") });
    expect(r.verdict).toBe("Unknown");
    expect(r.missing).toEqual(["a snapshot of node node-2"]);
    expect(r.reason).toBe("the packet goes on to node-2 (192.168.0.12), which was not captured");
  });
});

describe("pod to pod across nodes over Geneve (this kernel has no geneve driver: models only)", () => {
  /** host-gw nodes joined instead by a point-to-point Geneve device (`ip link add geneve0 type geneve id 7 remote <peer>`). */
  function geneveTopology(opts: { external?: boolean } = {}) {
    const t = topology({ overlay: "host-gw" });
    for (const [i, n] of t.nodes.entries()) {
      const self = i + 1;
      const peer = self === 1 ? 2 : 1;
      n.host.links.push({
        kind: "geneve",
        ifindex: 30,
        name: "geneve0",
        mtu: 1450,
        operstate: "UNKNOWN",
        flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        infoKind: "geneve",
        geneve: opts.external
          ? { dstport: 6081, external: true }
          : { vni: 7, remote: `192.168.0.${10 + peer}`, dstport: 6081, external: false },
      });
      n.host.addresses.push({
        ifindex: 30,
        ifname: "geneve0",
        family: 4,
        local: `10.245.0.${self}`,
        prefixlen: 24,
        scope: "global",
        flags: [],
      });
      n.host.routes = n.host.routes.filter((r) => r.dst !== `10.244.${peer}.0/24`);
      n.host.routes.push(
        {
          family: 4,
          type: "unicast",
          table: "main",
          dst: "10.245.0.0/24",
          dev: "geneve0",
          scope: "link",
          flags: [],
        },
        {
          family: 4,
          type: "unicast",
          table: "main",
          dst: `10.244.${peer}.0/24`,
          gateway: `10.245.0.${peer}`,
          dev: "geneve0",
          flags: [],
        },
      );
    }
    return t;
  }

  it("encapsulates to the device's fixed remote (VNI 7, udp/6081) and the remote node's geneve0 decapsulates, both ways", () => {
    const t = geneveTopology();
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.directions.map((d) => d.verdict)).toEqual(["Delivered", "Delivered"]);
    const encap = r.hops.find((h) => h.direction === "request" && h.action === "encap");
    expect(encap).toMatchObject({ primitive: "geneve", device: "geneve0" });
    expect(encap?.outer).toEqual({
      src: "192.168.0.11",
      dst: "192.168.0.12",
      protocol: "udp",
      dport: 6081,
      vni: 7,
    });
    expect(path(r)).toContain("node-2/host/geneve0:decap");
    expect(path(r, "reply")).toContain("node-1/host/geneve0:decap");
  });

  it("a Geneve device in collect-metadata (external) mode, as OVN-Kubernetes and Antrea create: Unknown, the datapath picks the VTEP", () => {
    const t = geneveTopology({ external: true });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Unknown");
    expect(requestEnd(r)).toMatchObject({ primitive: "geneve", device: "geneve0", action: "lookup" });
    expect(r.missing?.[0]).toMatch(/datapath's choice of VTEP/);
  });
});

describe("pod to pod across nodes with host-gw routes", () => {
  it("routes via the other node's underlay address and continues there", () => {
    const t = topology({ overlay: "host-gw" });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Delivered");
    expect(path(r).slice(3, 7)).toEqual([
      "node-1/host/veth11:receive",
      "node-1/host/eth0:lookup",
      "node-1/host/eth0:transmit",
      "node-2/host/eth0:receive",
    ]);
    expect(r.hops[4]?.evidence[0]?.text).toBe("10.244.2.0/24 via 192.168.0.12 dev eth0");
    expect(r.verdict === "Delivered" && requestEnd(r)?.netns).toBe("cni-n2p1");
  });

  it("treats a node's uplink veth (no pod netns behind it) as the underlay, as on kind nodes", () => {
    const t = topology({ overlay: "host-gw" });
    for (const n of t.nodes) {
      const eth0 = linkOf(n.host, "eth0");
      Object.assign(eth0, { kind: "veth", infoKind: "veth", linkIfindex: 40, linkNetnsid: 7 });
    }
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Delivered");
    expect(path(r)).toContain("node-2/host/eth0:receive");
  });
});

describe("findings on the path", () => {
  it("MTU_EXCEEDS_TUNNEL: a pod MTU of 1500 does not fit a VXLAN path over a 1500-byte underlay", () => {
    const t = topology({ overlay: "vxlan", podMtu: 1500 });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    const f = r.findings.find((x) => x.code === "MTU_EXCEEDS_TUNNEL");
    expect(f?.message).toContain("the source pod's MTU is 1500, but at most 1450 fits through flannel.1");
    expect(r.hops[f?.hop ?? -1]?.action).toBe("encap");
    expect(r.verdict).toBe("Delivered");
  });

  it("MTU_EXCEEDS_TUNNEL: computed from the underlay device when it is smaller than expected", () => {
    const t = topology({ overlay: "vxlan", underlayMtu: 1400 });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.findings.map((f) => f.message).join()).toContain(
      "eth0 MTU 1400 − 50 bytes of VXLAN overhead = 1350",
    );
  });

  it("LINK_DOWN: a host veth set down drops at the sending pod and names the veth that is down", () => {
    const t = topology({ overlay: "vxlan" });
    const veth = linkOf(node(t, 1).host, "veth12");
    veth.flags = veth.flags.filter((f) => f !== "UP" && f !== "LOWER_UP");
    veth.operstate = "DOWN";
    const eth0 = linkOf(podState(t, 1, 2), "eth0");
    eth0.flags = eth0.flags.filter((f) => f !== "LOWER_UP");
    eth0.operstate = "LOWERLAYERDOWN";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings).toMatchObject([
      { code: "LINK_DOWN", device: "veth12", node: "node-1", netns: "host" },
    ]);
    expect(requestEnd(r)).toMatchObject({ device: "veth12", action: "drop" });
  });

  it("BRIDGE_PORT_NOT_FORWARDING: a blocking bridge port drops the frame", () => {
    const t = topology({ overlay: "vxlan" });
    linkOf(node(t, 1).host, "veth11").bridgePort = { state: "blocking" };
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]).toMatchObject({ code: "BRIDGE_PORT_NOT_FORWARDING", device: "veth11" });
  });

  it("IP_FORWARD_DISABLED: a node with ip_forward=0 drops what it must route to another node", () => {
    const t = topology({ overlay: "vxlan" });
    node(t, 1).host.sysctls["net.ipv4.ip_forward"] = "0";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]).toMatchObject({ code: "IP_FORWARD_DISABLED", node: "node-1" });
    expect(r.findings[0]?.evidence[0]?.text).toBe("net.ipv4.ip_forward = 0");
    expect(requestEnd(r)?.device).toBe("flannel.1");
  });

  it("IP_FORWARD_DISABLED does not apply to frames bridged between pods of one node", () => {
    const t = topology({ overlay: "vxlan" });
    node(t, 1).host.sysctls["net.ipv4.ip_forward"] = "0";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Delivered");
  });

  it("BR_NETFILTER_OFF: with kube-proxy's rules on the node and bridge-nf-call-iptables=0, bridged pod traffic bypasses them", () => {
    const t = topology({ overlay: "vxlan" });
    const host = node(t, 1).host;
    // A real kube-proxy node's rules (kubeadm v1.29, captured on this kernel: see parsers/iptables/testdata).
    const dump = new URL("../parsers/iptables/testdata/captured-kubeadm-nft.txt", import.meta.url);
    host.netfilter.iptables = parseIptablesSave(readFileSync(dump, "utf8"));
    host.sysctls["net.bridge.bridge-nf-call-iptables"] = "0";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Delivered");
    const f = r.findings.find((x) => x.code === "BR_NETFILTER_OFF");
    expect(f).toMatchObject({ severity: "warning", device: "cni0", node: "node-1" });
    expect(f?.evidence[0]?.text).toBe("net.bridge.bridge-nf-call-iptables = 0");
    expect(r.hops[f?.hop ?? -1]).toMatchObject({ primitive: "bridge-port", device: "veth11" });
  });

  it("BR_NETFILTER_OFF is not raised on a node without kube-proxy rules", () => {
    const t = topology({ overlay: "vxlan" });
    node(t, 1).host.sysctls["net.bridge.bridge-nf-call-iptables"] = "0";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.findings).toEqual([]);
  });

  it("RP_FILTER_STRICT: strict rp_filter drops a packet whose return route leaves by another device", () => {
    const t = topology({ overlay: "host-gw" });
    // node-2 routes node-1's pod CIDR back through a different device than it arrives on.
    strictRpFilterVia2ndUplink(node(t, 2).host, "10.244.1.0/24");
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]).toMatchObject({ code: "RP_FILTER_STRICT", node: "node-2", device: "eth0" });
  });

  it("NO_ROUTE: a node without a route to the destination pod CIDR", () => {
    const t = topology({ overlay: "vxlan" });
    const h = node(t, 1).host;
    h.routes = h.routes.filter((r) => r.dst !== "10.244.2.0/24");
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]?.code).toBe("NO_ROUTE");
  });

  it("NO_NEIGHBOUR: no permanent neighbour for the remote VTEP on flannel.1", () => {
    const t = topology({ overlay: "vxlan" });
    node(t, 1).host.neighbours = [];
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]).toMatchObject({ code: "NO_NEIGHBOUR", device: "flannel.1" });
  });

  it("NO_FDB_ENTRY: the remote VTEP's MAC has no FDB entry on flannel.1", () => {
    const t = topology({ overlay: "vxlan" });
    const h = node(t, 1).host;
    h.fdb = h.fdb.filter((f) => f.dev !== "flannel.1");
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]).toMatchObject({ code: "NO_FDB_ENTRY", device: "flannel.1", node: "node-1" });
    expect(requestEnd(r)).toMatchObject({ primitive: "fdb", action: "drop" });
  });

  it("ROUTE_BLACKHOLE: a blackhole route for the destination", () => {
    const t = topology({ overlay: "routed" });
    node(t, 1).host.routes.push({
      family: 4,
      type: "blackhole",
      table: "main",
      dst: "10.244.9.0/24",
      flags: [],
    });
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.9.9") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings[0]?.code).toBe("ROUTE_BLACKHOLE");
  });
});

describe("broken wiring is named at its hop, not as a missing route or missing state", () => {
  /** The routed topology with pod-1-2's host veth set down, its /32 route marked linkdown as the kernel marks it. */
  const downedVeth = () => {
    const t = topology({ overlay: "routed" });
    const host = node(t, 1).host;
    const veth = linkOf(host, "cali12");
    veth.flags = veth.flags.filter((f) => f !== "UP" && f !== "LOWER_UP");
    veth.operstate = "DOWN";
    const route = host.routes.find((r) => r.dst === "10.244.1.12/32");
    if (!route) throw new Error("model lost pod-1-2's route");
    route.flags = ["linkdown"];
    return t;
  };

  it("a linkdown route is still used (ignore_routes_with_linkdown=0, the default): LINK_DOWN at the veth, not NO_ROUTE", () => {
    const t = downedVeth();
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Dropped");
    expect(requestEnd(r)).toMatchObject({ device: "cali12", action: "drop" });
    expect(r.findings).toEqual([expect.objectContaining({ code: "LINK_DOWN", device: "cali12" })]);
  });

  it("with ignore_routes_with_linkdown=1 the kernel skips that route, and so does the trace", () => {
    const t = downedVeth();
    node(t, 1).host.sysctls["net.ipv4.conf.cali12.ignore_routes_with_linkdown"] = "1";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.findings.map((f) => f.code)).toEqual(["NO_ROUTE"]);
  });

  it("a pod's host veth taken out of the bridge (nomaster): Dropped at the FDB with VETH_NOT_IN_BRIDGE, though its netns was captured", () => {
    const t = topology({ overlay: "vxlan" });
    const host = node(t, 1).host;
    const veth = linkOf(host, "veth12");
    delete veth.master;
    delete veth.bridgePort;
    // Leaving the bridge flushes the port's FDB entries.
    host.fdb = host.fdb.filter((f) => f.dev !== "veth12");
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Dropped");
    expect(requestEnd(r)).toMatchObject({ primitive: "fdb", device: "cni0", action: "drop" });
    expect(r.findings).toEqual([
      expect.objectContaining({ code: "VETH_NOT_IN_BRIDGE", device: "veth12", hop: r.stoppedAt }),
    ]);
    expect(r.findings[0]?.message).toContain("ip link set veth12 master cni0");
  });

  it("the host routing to a pod whose veth is out of the bridge: the same finding", () => {
    const t = topology({ overlay: "vxlan" });
    const host = node(t, 2).host;
    delete linkOf(host, "veth21").master;
    host.fdb = host.fdb.filter((f) => f.dev !== "veth21");
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(r.verdict).toBe("Dropped");
    expect(r.findings.map((f) => [f.code, f.node])).toEqual([["VETH_NOT_IN_BRIDGE", "node-2"]]);
  });
});

describe("a martian source", () => {
  it("a node's own masqueraded traffic forwarded back to it is dropped on arrival (MARTIAN_SOURCE), unless accept_local", () => {
    const t = topology({ overlay: "vxlan" });
    // node-2 masquerades its pods' traffic to node-1's address; node-1 forwards that port to a pod on node-2.
    node(t, 2).host.netfilter.iptables = parseIptablesSave(
      "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.244.2.0/24 -d 192.168.0.0/24 -j MASQUERADE\nCOMMIT\n",
    );
    node(t, 1).host.netfilter.iptables = parseIptablesSave(
      "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.0.11/32 -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.2.12:8080\nCOMMIT\n",
    );
    const packet = tcp("10.244.2.11", "192.168.0.11", 30080);
    const r = trace({ nodes: t.nodes, facts: t.facts, packet });
    expect(r.verdict).toBe("Dropped");
    expect(requestEnd(r)).toMatchObject({
      node: "node-2",
      netns: "host",
      device: "flannel.1",
      action: "drop",
    });
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: "MARTIAN_SOURCE",
        node: "node-2",
        device: "flannel.1",
        hop: r.stoppedAt,
      }),
    ]);
    node(t, 2).host.sysctls["net.ipv4.conf.all.accept_local"] = "1";
    expect(trace({ nodes: t.nodes, facts: t.facts, packet }).directions[0]?.verdict).toBe("Delivered");
  });
});

describe("what the engine does not know it says", () => {
  it("a pod's veth enslaved to Open vSwitch (Antrea, OVN-Kubernetes): Unknown at the port, naming OVS, not routed by the host", () => {
    const t = topology({ overlay: "routed" });
    const host = node(t, 1).host;
    // As `ip -d link` shows an OVS datapath port (shared/fixtures: the OVN genev_sys_6081 capture).
    host.links.push({
      kind: "other",
      ifindex: 20,
      name: "ovs-system",
      mtu: 1500,
      operstate: "DOWN",
      flags: ["BROADCAST", "MULTICAST"],
      infoKind: "openvswitch",
    });
    linkOf(host, "cali11").master = "ovs-system";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(r.verdict).toBe("Unknown");
    expect(r.hops.at(-1)).toMatchObject({ netns: "host", device: "cali11", action: "receive" });
    expect(r.reason).toContain("cali11 is a port of Open vSwitch (ovs-system)");
    expect(r.missing?.[0]).toContain("ovs-appctl ofproto/trace");
  });

  it("Unknown with what is missing when no captured netns holds the source", () => {
    const t = topology({ overlay: "vxlan" });
    const r = trace({ nodes: [node(t, 1)], facts: t.facts, packet: tcp("10.244.2.11", "10.244.1.11") });
    expect(r.verdict).toBe("Unknown");
    expect(r.missing?.[0]).toContain("snapshot of node node-2");
  });
});

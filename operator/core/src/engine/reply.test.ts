/**
 * The reply direction: a connection works only if its replies come back, un-NATed where conntrack
 * undoes the request's NAT. Each case is one of the topologies that made the request-only engine say
 * Delivered while real connections failed (the kernel lab repeats them with real traffic:
 * e2e/lab/reply.lab.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { Packet, TraceResult } from "../model/trace.js";
import { parseIptablesSave } from "../parsers/iptables/index.js";
import { trace } from "./testdata/golden.js";
import { hopsOf, node, strictRpFilterVia2ndUplink, tcp, topology } from "./testdata/models.js";

/** A nat table shaped like kube-proxy's for one ClusterIP with one endpoint (iptables-save form). */
function clusterIp(vip: string, endpoint: string): string {
  return [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-SEP-A - [0:0]",
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    `-A KUBE-SERVICES -d ${vip}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SEP-A`,
    `-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${endpoint}`,
    "COMMIT",
    "",
  ].join("\n");
}

const verdicts = (r: TraceResult) => r.directions.map((d) => `${d.direction} ${d.verdict}`);

describe("a Service whose endpoint is on the client's bridge", () => {
  const setup = (brNetfilter: "0" | "1") => {
    const t = topology({ overlay: "vxlan" });
    const host = node(t, 1).host;
    host.netfilter.iptables = parseIptablesSave(clusterIp("10.96.0.10", "10.244.1.12:8080"));
    host.sysctls["net.bridge.bridge-nf-call-iptables"] = brNetfilter;
    return trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.96.0.10") });
  };

  it("bridge-nf-call-iptables=0: the request arrives, the reply is bridged around conntrack and the client drops it (BR_NETFILTER_OFF)", () => {
    const r = setup("0");
    expect(verdicts(r)).toEqual(["request Delivered", "reply Dropped"]);
    expect(r).toMatchObject({ verdict: "Dropped", stoppedIn: "reply" });
    const reply = hopsOf(r, "reply");
    // Straight from pod-1-2's veth across cni0 to pod-1-1: no netfilter, no un-DNAT.
    expect(reply.some((h) => h.layer === "netfilter" || h.primitive === "conntrack")).toBe(false);
    const f = r.findings.find((x) => x.code === "BR_NETFILTER_OFF" && x.severity === "error");
    expect(r.hops[f?.hop ?? -1]).toMatchObject({
      direction: "reply",
      primitive: "bridge-port",
      device: "veth12",
    });
    expect(f?.message).toContain("DNATed the request at hop");
    expect(f?.message).toContain("its source stays 10.244.1.12:8080 instead of 10.96.0.10:80");
    expect(reply.at(-1)).toMatchObject({ netns: "cni-n1p1", primitive: "local", action: "drop" });
    expect(r.stoppedAt).toBe(reply.at(-1)?.index);
    expect(r.reason).toMatch(
      /^reply: the reply comes from 10\.244\.1\.12:8080, but the connection is to 10\.96\.0\.10:80/,
    );
    expect(r.findings.map((x) => x.code)).not.toContain("REPLY_MISMATCH");
  });

  it("bridge-nf-call-iptables=1: the bridged reply meets conntrack, which restores the Service address: Delivered both ways", () => {
    const r = setup("1");
    expect(verdicts(r)).toEqual(["request Delivered", "reply Delivered"]);
    const unDnat = hopsOf(r, "reply").find((h) => h.action === "un-dnat");
    expect(unDnat).toMatchObject({ node: "node-1", netns: "host", primitive: "conntrack" });
    expect(unDnat?.packet).toMatchObject({ src: "10.96.0.10", sport: 80, dst: "10.244.1.11", dport: 40000 });
    expect(r.findings).toEqual([]);
  });
});

describe("replies that cannot come back", () => {
  it("no route back: the far side has no route to the client's pod CIDR (a missing MASQUERADE's symptom)", () => {
    const t = topology({ overlay: "host-gw" });
    const n2 = node(t, 2).host;
    n2.routes = n2.routes.filter((r) => r.dst !== "10.244.1.0/24");
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(verdicts(r)).toEqual(["request Delivered", "reply Dropped"]);
    const stop = r.hops[r.stoppedAt ?? -1];
    expect(stop).toMatchObject({
      direction: "reply",
      node: "node-2",
      netns: "host",
      primitive: "route",
      action: "drop",
    });
    expect(r.findings).toEqual([
      expect.objectContaining({ code: "NO_ROUTE", node: "node-2", hop: r.stoppedAt }),
    ]);
  });

  it("ip_forward=0 with a same-bridge flow masqueraded to the bridge's address: bridged on the way out, routed (and dropped) on the way back", () => {
    const t = topology({ overlay: "vxlan" });
    const host = node(t, 1).host;
    // The tutorial rule without `! -o cni0`: it masquerades pod-to-pod traffic on the bridge too.
    host.netfilter.iptables = parseIptablesSave(
      "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.244.1.0/24 -j MASQUERADE\nCOMMIT\n",
    );
    host.sysctls["net.ipv4.ip_forward"] = "0";
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.1.12") });
    expect(verdicts(r)).toEqual(["request Delivered", "reply Dropped"]);
    const masq = hopsOf(r, "request").find((h) => h.action === "masquerade");
    expect(masq?.packet?.src).toBe("10.244.1.1");
    expect(r.directions[1]?.packet).toMatchObject({ src: "10.244.1.12", dst: "10.244.1.1" });
    const reply = hopsOf(r, "reply");
    expect(reply.find((h) => h.action === "un-snat")?.packet).toMatchObject({
      dst: "10.244.1.11",
      dport: 40000,
    });
    expect(r.findings).toEqual([
      expect.objectContaining({ code: "IP_FORWARD_DISABLED", node: "node-1", hop: r.stoppedAt }),
    ]);
  });

  it("an asymmetric reply: DNATed on node-1, answered straight back on node-2, never un-DNATed (REPLY_BYPASSES_NAT)", () => {
    const t = topology({ overlay: "vxlan" });
    // A NodePort-like DNAT on node-1's address with no masquerade (what externalTrafficPolicy or a
    // hand-written port forward does), to an endpoint on node-2 next to the client.
    node(t, 1).host.netfilter.iptables = parseIptablesSave(
      "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.0.11/32 -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.2.12:8080\nCOMMIT\n",
    );
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.2.11", "192.168.0.11", 30080) });
    expect(verdicts(r)).toEqual(["request Delivered", "reply Dropped"]);
    expect(hopsOf(r, "reply").every((h) => h.node === "node-2")).toBe(true);
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: "REPLY_BYPASSES_NAT",
        severity: "error",
        node: "node-2",
        hop: r.stoppedAt,
      }),
    ]);
    expect(r.findings[0]?.message).toMatch(
      /DNATed to 10\.244\.2\.12:8080 in the host netns of node-1 \(hop \d+\)/,
    );
  });

  it("strict rp_filter on the reply's way: the reply arrives on a device the route back does not use", () => {
    const t = topology({ overlay: "host-gw" });
    strictRpFilterVia2ndUplink(node(t, 1).host, "10.244.2.0/24");
    // Out via eth1 (a second uplink), back in on eth0: the request leaves fine, the reply is dropped.
    const r = trace({ nodes: t.nodes, facts: t.facts, packet: tcp("10.244.1.11", "10.244.2.11") });
    expect(verdicts(r)).toEqual(["request Delivered", "reply Dropped"]);
    expect(hopsOf(r, "request").find((h) => h.action === "transmit" && h.layer === "underlay")?.device).toBe(
      "eth1",
    );
    expect(r.findings).toEqual([
      expect.objectContaining({ code: "RP_FILTER_STRICT", node: "node-1", device: "eth0", hop: r.stoppedAt }),
    ]);
    expect(r.hops[r.stoppedAt ?? -1]?.direction).toBe("reply");
  });
});

describe("every protocol has a reply", () => {
  const cases: Array<[string, Packet, Partial<Packet>]> = [
    [
      "icmp echo",
      { protocol: "icmp", src: "10.244.1.11", dst: "10.244.2.12" },
      { src: "10.244.2.12", dst: "10.244.1.11" },
    ],
    [
      "udp",
      { protocol: "udp", src: "10.244.1.11", dst: "10.244.2.12", sport: 40000, dport: 53 },
      { src: "10.244.2.12", sport: 53, dst: "10.244.1.11", dport: 40000 },
    ],
  ];
  for (const [name, packet, reply] of cases) {
    it(`${name}: the reply comes back across nodes, Delivered both ways`, () => {
      const t = topology({ overlay: "vxlan" });
      const r = trace({ nodes: t.nodes, facts: t.facts, packet });
      expect(verdicts(r)).toEqual(["request Delivered", "reply Delivered"]);
      expect(r.directions[1]?.packet).toEqual({ protocol: packet.protocol, ...reply });
      expect(r.segments.map((s) => `${s.direction} ${s.node}`)).toEqual([
        "request node-1",
        "request node-2",
        "reply node-2",
        "reply node-1",
      ]);
    });
  }
});

/**
 * kube-proxy IPVS mode through the whole walk. This kernel has no IPVS, so these traces run on real
 * captured IPVS state only (ipvsadm, ipset, iptables nat listing and kube-ipvs0 of one cluster each,
 * see netfilter/ipvs/testdata/nodes.ts) wired into the engine's test topology.
 */
import { describe, expect, it } from "vitest";
import type { NodeState } from "../model/state.js";
import type { Hop, Packet, TraceResult } from "../model/trace.js";
import { kindTkng, minikubeOtus } from "./netfilter/ipvs/testdata/nodes.js";
import { compareEveryWholeClusterResult, trace } from "./testdata/golden.js";
import type { Topology } from "./testdata/models.js";
import { requestEnd, tcp } from "./testdata/models.js";

compareEveryWholeClusterResult(import.meta.url);

function run(t: Topology, packet: Packet, endpoint?: number | string): TraceResult {
  return trace({ nodes: t.nodes, facts: t.facts, packet, ...(endpoint !== undefined ? { endpoint } : {}) });
}

/** "node/netns/device-or-rule:action" per hop. */
const path = (r: TraceResult): string[] =>
  r.hops
    .filter((h) => h.direction === "request")
    .map((h) => `${h.node}/${h.netns}/${h.device ?? h.rule ?? "-"}:${h.action}`);
const ipvsHop = (r: TraceResult): Hop | undefined => r.hops.find((h) => h.layer === "ipvs");
const host = (t: Topology, i = 0): NodeState["host"] => (t.nodes[i] as NodeState).host;

describe("pod → ClusterIP in IPVS mode (minikube capture: ipvsadm -L -n, ipset list, nat -L -n -v, kube-ipvs0)", () => {
  it("kube-proxy's nat rules mark it, IPVS DNATs it to a real server with its probability, KUBE-POSTROUTING masquerades, and it reaches the endpoint pod", () => {
    const r = run(minikubeOtus(), tcp("172.17.0.2", "10.97.181.101", 80), 1);
    expect(r.verdict).toBe("Delivered");
    expect(path(r)).toEqual([
      "minikube/cni-n1p1/eth0:lookup",
      "minikube/cni-n1p1/eth0:transmit",
      "minikube/host/veth11:receive",
      "minikube/host/veth11:receive",
      "minikube/host/nat/PREROUTING rule 1:jump",
      "minikube/host/nat/KUBE-SERVICES rule 1:jump",
      "minikube/host/nat/KUBE-MARK-MASQ rule 1:mark",
      "minikube/host/nat/KUBE-SERVICES rule 2:jump",
      "minikube/host/nat/KUBE-SERVICES rule 3:accept",
      "minikube/host/kube-ipvs0:dnat",
      "minikube/host/docker0:lookup",
      "minikube/host/nat/POSTROUTING rule 1:jump",
      "minikube/host/nat/KUBE-POSTROUTING rule 3:mark",
      "minikube/host/nat/KUBE-POSTROUTING rule 4:masquerade",
      "minikube/host/docker0:transmit",
      "minikube/host/docker0:forward",
      "minikube/host/veth13:transmit",
      "minikube/cni-n1p3/eth0:receive",
      "minikube/cni-n1p3/eth0:deliver",
    ]);
    // The capture's clusterCIDR (10.244.0.0/16) is not its pod range (docker0, 172.17.0.0/16):
    // KUBE-SERVICES rule 1 marks every pod's ClusterIP connection for masquerade, as on that node.
    expect(r.hops[5]?.evidence[0]?.text).toBe(
      '-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
    );
    const ipvs = ipvsHop(r);
    expect(ipvs).toMatchObject({
      primitive: "ipvs-service",
      rule: "TCP 10.97.181.101:80",
      command: "ipvsadm -L -n -t 10.97.181.101:80",
    });
    expect(ipvs?.endpoints?.map((e) => [e.address, e.probability, e.chosen])).toEqual([
      ["172.17.0.3:8000", 1 / 3, false],
      ["172.17.0.4:8000", 1 / 3, true],
      ["172.17.0.5:8000", 1 / 3, false],
    ]);
    expect(ipvs?.evidence.map((e) => e.text)).toEqual([
      "TCP  10.97.181.101:80 rr\n  -> 172.17.0.3:8000              Masq    1      0          0\n  -> 172.17.0.4:8000              Masq    1      0          0\n  -> 172.17.0.5:8000              Masq    1      0          0",
      "15: kube-ipvs0 inet 10.97.181.101/32 scope global kube-ipvs0",
    ]);
    expect(ipvs?.packet).toMatchObject({ src: "172.17.0.2", dst: "172.17.0.4", dport: 8000 });
    expect(r.hops[13]?.packet).toMatchObject({ src: "172.17.0.1", dst: "172.17.0.4", dport: 8000 });
    expect(r.segments.filter((s) => s.direction === "request").at(-1)?.packetOut).toMatchObject({
      src: "172.17.0.1",
      dst: "172.17.0.4",
      dport: 8000,
    });
  });

  it("hairpin: a pod reaching itself through the Service is masqueraded by the KUBE-LOOP-BACK ipset rule", () => {
    const r = run(minikubeOtus(), tcp("172.17.0.3", "10.97.181.101", 80), "172.17.0.3:8000");
    expect(r.verdict).toBe("Delivered");
    const masq = r.hops.find((h) => h.action === "masquerade");
    expect(masq?.rule).toBe("nat/KUBE-POSTROUTING rule 1");
    expect(masq?.evidence[0]?.text).toContain("-m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE");
    expect(masq?.packet).toMatchObject({ src: "172.17.0.1", dst: "172.17.0.3", dport: 8000 });
    expect(requestEnd(r)).toMatchObject({ netns: "cni-n1p2", action: "deliver" });
  });

  it("a real server on the node's own address (the API server at :8443) is delivered in the host netns", () => {
    const r = run(minikubeOtus(), tcp("172.17.0.2", "10.96.0.1", 443));
    expect(r.verdict).toBe("Delivered");
    expect(ipvsHop(r)?.endpoints).toEqual([
      {
        address: "192.168.136.17:8443",
        probability: 1,
        via: "TCP 10.96.0.1:443 real server (Masq, weight 1)",
        chosen: true,
      },
    ]);
    expect(requestEnd(r)).toMatchObject({
      netns: "host",
      primitive: "local",
      action: "deliver",
    });
    expect(requestEnd(r)?.summary).toMatch(
      /192\.168\.136\.17:8443 is a local address .* IPVS hands the packet back to LOCAL_IN/,
    );
  });

  it("a ClusterIP bound on kube-ipvs0 without a virtual server for the port reaches the node's own sockets, with a finding", () => {
    const r = run(minikubeOtus(), tcp("172.17.0.2", "10.97.181.101", 8080));
    expect(r.verdict).toBe("Delivered");
    expect(r.directions[0]?.reason).toBe("delivered to 10.97.181.101 in the host netns of minikube");
    const lookup = ipvsHop(r);
    expect(lookup).toMatchObject({ device: "kube-ipvs0", action: "lookup", command: "ipvsadm -L -n" });
    expect(lookup?.summary).toBe(
      "10.97.181.101 is a Service address bound on kube-ipvs0, but IPVS has no virtual server for tcp/8080 (it has TCP 10.97.181.101:80): the packet is not load-balanced",
    );
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: "IPVS_NO_VIRTUAL_SERVER",
        severity: "warning",
        hop: lookup?.index,
        device: "kube-ipvs0",
      }),
    ]);
  });

  it("a Service whose virtual server has no real servers is rejected at the IPVS hop with SERVICE_NO_ENDPOINTS (real servers removed from the capture)", () => {
    const t = minikubeOtus();
    const web = host(t).netfilter.ipvs?.find((vs) => vs.address === "10.97.181.101");
    if (!web) throw new Error("capture lost its web Service");
    web.realServers = [];
    const r = run(t, tcp("172.17.0.2", "10.97.181.101", 80));
    expect(r.verdict).toBe("Rejected");
    expect(requestEnd(r)).toMatchObject({ layer: "ipvs", action: "reject", endpoints: [] });
    expect(r.findings.map((f) => [f.code, f.hop])).toEqual([["SERVICE_NO_ENDPOINTS", r.stoppedAt]]);
    expect(r.findings[0]?.message).toMatch(/no real servers.*ICMP port unreachable/);
  });

  it("a node with kube-ipvs0 addresses but no captured IPVS table ends Unknown and names what is missing", () => {
    const t = minikubeOtus();
    delete host(t).netfilter.ipvs;
    const r = run(t, tcp("172.17.0.2", "10.97.181.101", 80));
    expect(r.verdict).toBe("Unknown");
    expect(r.missing).toEqual(["ipvsadm -S -n on minikube"]);
  });
});

describe("IPVS mode across nodes (kind capture: ipvsadm -Ln, ipsets, kube-ipvs0 link; no nat table captured)", () => {
  it("a NodePort virtual server on the node IP DNATs to a real server on the other node, reached over VXLAN", () => {
    const r = run(kindTkng(), tcp("10.244.2.2", "192.168.224.4", 31730));
    expect(r.verdict).toBe("Delivered");
    const ipvs = ipvsHop(r);
    expect(ipvs).toMatchObject({ rule: "TCP 192.168.224.4:31730", action: "dnat" });
    expect(ipvs?.device).toBeUndefined(); // the node IP is on eth0, not on kube-ipvs0
    expect(ipvs?.endpoints?.map((e) => [e.address, e.probability, e.chosen])).toEqual([
      ["10.244.1.6:80", 0.5, true],
      ["10.244.2.4:80", 0.5, false],
    ]);
    expect(path(r).slice(4, 11)).toEqual([
      "node-2/host/TCP 192.168.224.4:31730:dnat",
      "node-2/host/flannel.1:lookup",
      "node-2/host/flannel.1:lookup",
      "node-2/host/flannel.1:lookup",
      "node-2/host/flannel.1:encap",
      "node-2/host/eth0:transmit",
      "node-1/host/flannel.1:decap",
    ]);
    expect(requestEnd(r)).toMatchObject({ node: "node-1", netns: "cni-n1p1", action: "deliver" });
  });

  it("the ClusterIP's other real server on the same node is reached through cni0", () => {
    const r = run(kindTkng(), tcp("10.244.2.2", "10.96.119.228", 80), "10.244.2.4:80");
    expect(r.verdict).toBe("Delivered");
    expect(ipvsHop(r)).toMatchObject({ device: "kube-ipvs0", rule: "TCP 10.96.119.228:80" });
    expect(requestEnd(r)).toMatchObject({ node: "node-2", netns: "cni-n2p1", action: "deliver" });
    expect(r.segments.filter((s) => s.direction === "request")).toHaveLength(1);
  });
});

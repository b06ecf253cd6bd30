import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { factsFor } from "./facts.js";
import { type ClusterView, ResolveError, resolveTrace } from "./resolve.js";

const pod = (ns: string, name: string, node: string, ip?: string, hostNetwork = false): V1Pod => ({
  metadata: { namespace: ns, name },
  spec: { nodeName: node, hostNetwork, containers: [] },
  status: ip ? { phase: "Running", podIP: ip, podIPs: [{ ip }] } : { phase: "Pending" },
});
const node = (name: string, ip: string, cidr: string): V1Node => ({
  metadata: { name },
  spec: { podCIDR: cidr, podCIDRs: [cidr] },
  status: { addresses: [{ type: "InternalIP", address: ip }] },
});
const web: V1Service = {
  metadata: { namespace: "default", name: "web" },
  spec: {
    clusterIP: "10.96.0.10",
    clusterIPs: ["10.96.0.10"],
    ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
  },
};
const slice: V1EndpointSlice = {
  metadata: { namespace: "default", name: "web-1", labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  endpoints: [
    { addresses: ["10.244.2.3"], conditions: { ready: true }, nodeName: "node-2" },
    { addresses: ["10.244.2.9"], conditions: { ready: false }, nodeName: "node-2" },
  ],
};

function view(): ClusterView {
  const pods = [
    pod("default", "client", "node-1", "10.244.1.2"),
    pod("default", "server", "node-2", "10.244.2.3"),
    pod("default", "pending", "node-2"),
    pod("kube-system", "agent", "node-1", "172.31.0.1", true),
  ];
  const nodes = [
    node("node-1", "172.31.0.1", "10.244.1.0/24"),
    node("node-2", "172.31.0.2", "10.244.2.0/24"),
  ];
  const services = [
    web,
    { metadata: { namespace: "default", name: "headless" }, spec: { clusterIP: "None" } },
  ];
  return {
    pod: (ns, n) => pods.find((p) => p.metadata?.namespace === ns && p.metadata?.name === n),
    pods: (ns) => pods.filter((p) => ns === undefined || p.metadata?.namespace === ns),
    service: (ns, n) => services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === n),
    services: (ns) => services.filter((s) => s.metadata?.namespace === ns),
    endpointSlices: (_ns, s) => (s === "web" ? [slice] : []),
    node: (n) => nodes.find((x) => x.metadata?.name === n),
    nodes: () => nodes,
  };
}

function refusal(f: () => unknown): ResolveError {
  try {
    f();
  } catch (e) {
    if (e instanceof ResolveError) return e;
    throw e;
  }
  throw new Error("expected a ResolveError");
}

describe("resolveTrace", () => {
  it("resolves pod → Service to the ClusterIP and the Service port, starting in the pod's netns", () => {
    const r = resolveTrace(
      { source: { pod: "client" }, destination: { service: "web" }, protocol: "tcp", port: 80 },
      "default",
      view(),
    );
    expect(r.request).toEqual({
      packet: { protocol: "tcp", src: "10.244.1.2", dst: "10.96.0.10", sport: 40000, dport: 80 },
      source: { node: "node-1" },
    });
    expect(r.destinationText).toBe("svc default/web 10.96.0.10:80");
  });

  it("starts a hostNetwork pod's and a node's packet in the node's own netns", () => {
    const v = view();
    const host = resolveTrace(
      {
        source: { pod: "agent", namespace: "kube-system" },
        destination: { ip: "10.244.2.3" },
        protocol: "icmp",
      },
      "default",
      v,
    );
    expect(host.request.source).toEqual({ node: "node-1", netns: "host" });
    expect(host.destinationText).toBe("10.244.2.3 (pod default/server)");
    const fromNode = resolveTrace(
      { source: { node: "node-2" }, destination: { pod: "client" }, protocol: "icmp" },
      "default",
      v,
    );
    expect(fromNode.request).toEqual({
      packet: { protocol: "icmp", src: "172.31.0.2", dst: "10.244.1.2" },
      source: { node: "node-2", netns: "host" },
    });
  });

  it("says what is wrong and what to do", () => {
    const v = view();
    expect(
      refusal(() =>
        resolveTrace(
          { source: { pod: "clinet" }, destination: { pod: "server" }, protocol: "icmp" },
          "default",
          v,
        ),
      ).message,
    ).toBe("source pod default/clinet not found; did you mean client?");
    expect(
      refusal(() =>
        resolveTrace(
          { source: { pod: "client" }, destination: { pod: "pending" }, protocol: "icmp" },
          "default",
          v,
        ),
      ).reason,
    ).toBe("PodHasNoIP");
    const port = refusal(() =>
      resolveTrace(
        { source: { pod: "client" }, destination: { service: "web" }, protocol: "tcp", port: 81 },
        "default",
        v,
      ),
    );
    expect(port.message).toBe("Service default/web has no TCP port 81; its ports: 80/TCP (http)");
    expect(
      refusal(() =>
        resolveTrace(
          { source: { pod: "client" }, destination: { service: "headless" }, protocol: "tcp", port: 80 },
          "default",
          v,
        ),
      ).reason,
    ).toBe("ServiceHasNoClusterIP");
    expect(
      refusal(() =>
        resolveTrace(
          { source: { pod: "client" }, destination: { ip: "fd00::1" }, protocol: "icmp" },
          "default",
          v,
        ),
      ).reason,
    ).toBe("AddressFamilyMismatch");
    expect(
      refusal(() =>
        resolveTrace(
          { source: { node: "node-9" }, destination: { pod: "server" }, protocol: "icmp" },
          "default",
          v,
        ),
      ).reason,
    ).toBe("NodeNotFound");
  });
});

describe("factsFor", () => {
  it("gives a walk every node, the pods of its node and of the trace, the Service with its ready endpoints; no hostNetwork pod", () => {
    const facts = factsFor(view(), {
      node: "node-1",
      pods: [{ namespace: "default", name: "server" }],
      service: { namespace: "default", name: "web" },
    });
    expect(facts.nodes.map((n) => [n.name, n.addresses, n.podCIDRs])).toEqual([
      ["node-1", ["172.31.0.1"], ["10.244.1.0/24"]],
      ["node-2", ["172.31.0.2"], ["10.244.2.0/24"]],
    ]);
    expect(facts.pods.map((p) => p.name).sort()).toEqual(["client", "server"]);
    expect(facts.services).toEqual([
      {
        namespace: "default",
        name: "web",
        type: "ClusterIP",
        clusterIPs: ["10.96.0.10"],
        ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
        endpoints: ["10.244.2.3"],
      },
    ]);
  });
});

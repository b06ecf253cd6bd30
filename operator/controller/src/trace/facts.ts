/**
 * The cluster facts one node's walk needs, from the operator's caches: every node (which node owns
 * a next-hop or VTEP address), the pods on the walking node plus the trace's own pods and the
 * Service's endpoints (names for the hops), and the destination Service. Bounded by the nodes and
 * by what the trace touches, not by the pods of the cluster.
 */
import type { V1Node, V1Pod, V1Service } from "@kubernetes/client-node";
import type { ClusterFacts, NodeFact, PodFact, ServiceFact } from "@netmap/core";
import { type ClusterView, podIps, readyEndpoints } from "./resolve.js";

export function nodeFact(node: V1Node): NodeFact {
  const addresses = (node.status?.addresses ?? [])
    .filter((a) => a.type === "InternalIP")
    .map((a) => a.address);
  const podCIDRs = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  return { name: node.metadata?.name ?? "", addresses, podCIDRs };
}

/** A pod's fact; undefined for hostNetwork pods (their IP is the node's) and pods without IP or node. */
export function podFact(pod: V1Pod): PodFact | undefined {
  const ips = podIps(pod);
  if (pod.spec?.hostNetwork || ips.length === 0 || !pod.spec?.nodeName) return undefined;
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    ips,
    node: pod.spec.nodeName,
  };
}

export function serviceFact(svc: V1Service, endpoints: string[]): ServiceFact {
  const spec = svc.spec ?? {};
  return {
    namespace: svc.metadata?.namespace ?? "",
    name: svc.metadata?.name ?? "",
    type: (spec.type ?? "ClusterIP") as ServiceFact["type"],
    clusterIPs: (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip !== "None"),
    ports: (spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      protocol: (p.protocol ?? "TCP") as "TCP" | "UDP" | "SCTP",
      port: p.port,
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
    })),
    endpoints,
  };
}

export interface FactsScope {
  /** The node that walks. */
  node: string;
  /** The trace's own pods. */
  pods: ReadonlyArray<{ namespace: string; name: string }>;
  service?: { namespace: string; name: string };
}

export function factsFor(view: ClusterView, scope: FactsScope): ClusterFacts {
  const nodes = view.nodes().map(nodeFact);
  const pods = new Map<string, PodFact>();
  const addPod = (p: V1Pod | undefined) => {
    const f = p && podFact(p);
    if (f) pods.set(`${f.namespace}/${f.name}`, f);
  };
  for (const p of view.pods()) if (p.spec?.nodeName === scope.node) addPod(p);
  for (const ref of scope.pods) addPod(view.pod(ref.namespace, ref.name));
  const services: ServiceFact[] = [];
  if (scope.service) {
    const svc = view.service(scope.service.namespace, scope.service.name);
    if (svc) {
      const endpoints = readyEndpoints(view.endpointSlices(scope.service.namespace, scope.service.name));
      const ips = new Set(endpoints.map((e) => e.ip));
      for (const p of view.pods()) if (podIps(p).some((ip) => ips.has(ip))) addPod(p);
      services.push(serviceFact(svc, [...ips]));
    }
  }
  return { nodes, pods: [...pods.values()], services };
}

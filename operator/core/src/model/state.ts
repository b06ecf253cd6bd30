/**
 * The kernel state netmap reasons about: one network namespace at a time (NetnsState), grouped by
 * node (NodeState: the host netns plus the pod netns that hang off it), plus the cluster facts that
 * only the API server knows (which IP is which pod, which node has which VTEP and pod CIDR).
 */
import type { Address } from "./addr.js";
import type { FdbEntry } from "./fdb.js";
import type { IptablesRuleset } from "./iptables.js";
import type { IpSet, IpvsVirtualServer } from "./ipvs.js";
import type { Link } from "./link.js";
import type { Neighbour } from "./neigh.js";
import type { NftRuleset } from "./nftables.js";
import type { PolicyRule, Route } from "./route.js";
import type { Sysctls } from "./sysctl.js";

/** `ip -j netns list-id`: how this netns names other namespaces. */
export interface NetnsId {
  nsid: number;
  /** Name under /var/run/netns, when the peer netns has one. */
  name?: string;
}

/** What netfilter and IPVS hold in one netns; each part is absent when it was not collected. */
export interface Netfilter {
  iptables?: IptablesRuleset;
  nftables?: NftRuleset;
  ipvs?: IpvsVirtualServer[];
  ipsets?: IpSet[];
}

export interface NetnsState {
  node: string;
  /** "host" for the node's own netns; otherwise the pod netns' name (e.g. "cni-6c2f…"). */
  netns: string;
  /**
   * Where the netns can be entered: "/proc/1/ns/net" (a node's own), "/var/run/netns/<name>",
   * "/proc/<pid>/ns/net". Commands shown to users are built from it.
   */
  path?: string;
  links: Link[];
  addresses: Address[];
  routes: Route[];
  rules: PolicyRule[];
  neighbours: Neighbour[];
  fdb: FdbEntry[];
  sysctls: Sysctls;
  netnsIds: NetnsId[];
  netfilter: Netfilter;
}

export interface PodRef {
  namespace: string;
  name: string;
}

export interface PodNetns {
  state: NetnsState;
  /** Addresses of the pod's interface(s), as found in its netns. */
  ips: string[];
  /** The Kubernetes pod this netns belongs to, when known (from the API server or CNI args). */
  pod?: PodRef;
}

export interface NodeState {
  node: string;
  host: NetnsState;
  pods: PodNetns[];
}

/** A pod as the API server knows it. */
export interface PodFact extends PodRef {
  ips: string[];
  node: string;
}

export interface NodeFact {
  name: string;
  /** Underlay (InternalIP) addresses. */
  addresses: string[];
  podCIDRs: string[];
}

export interface ServicePortFact {
  name?: string;
  protocol: "TCP" | "UDP" | "SCTP";
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceFact {
  namespace: string;
  name: string;
  type: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  clusterIPs: string[];
  ports: ServicePortFact[];
  /** Ready endpoint addresses (from EndpointSlices). */
  endpoints: string[];
}

/** Facts only the API server (or a snapshot manifest) knows. Everything else comes from the kernel. */
export interface ClusterFacts {
  pods: PodFact[];
  nodes: NodeFact[];
  services: ServiceFact[];
}

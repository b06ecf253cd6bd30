/**
 * What one node's walk can see: the node's network namespaces (its host netns and the pod netns
 * that hang off it) and the cluster facts. Links are always looked up within one netns, never by
 * ifindex alone. Nothing here reaches another node's state: a walk that leaves the node ends with a
 * departure naming the node the facts say owns the next address.
 */
import type { Address } from "../model/addr.js";
import type { Link } from "../model/link.js";
import type { ClusterFacts, NetnsState, NodeState, PodRef } from "../model/state.js";
import { sameAddress } from "./ip.js";

export interface NetnsView {
  node: string;
  kind: "host" | "pod";
  state: NetnsState;
  /** The host netns of the same node (itself for the host). */
  host: NetnsState;
  pod?: PodRef;
  ips: string[];
}

export interface LinkRef {
  view: NetnsView;
  link: Link;
}

export class NodeWorld {
  readonly views: NetnsView[] = [];
  readonly host: NetnsView;

  constructor(
    readonly node: NodeState,
    readonly facts: ClusterFacts,
  ) {
    this.host = { node: node.node, kind: "host", state: node.host, host: node.host, ips: [] };
    this.views.push(this.host);
    for (const p of node.pods) {
      const fact = facts.pods.find((f) => f.ips.some((ip) => p.ips.some((q) => sameAddress(ip, q))));
      const pod = p.pod ?? (fact ? { namespace: fact.namespace, name: fact.name } : undefined);
      this.views.push({
        node: node.node,
        kind: "pod",
        state: p.state,
        host: node.host,
        ips: p.ips,
        ...(pod ? { pod } : {}),
      });
    }
  }

  get name(): string {
    return this.node.node;
  }

  /** A netns of this node by its name ("host" for the node's own). */
  netnsNamed(name: string): NetnsView | undefined {
    return this.views.find((v) => v.state.netns === name);
  }

  /** The pod netns of this node that owns `ip` as a pod address. */
  podNetnsOf(ip: string): NetnsView | undefined {
    return this.views.find((v) => v.kind === "pod" && v.ips.some((a) => sameAddress(a, ip)));
  }

  /** The netns of this node (pod or host) that has `ip` configured on one of its links. */
  netnsWithAddress(ip: string): { view: NetnsView; address: Address } | undefined {
    for (const view of this.views) {
      const address = view.state.addresses.find((a) => sameAddress(a.local, ip));
      if (address) return { view, address };
    }
    return undefined;
  }

  /** The address `ip` on a link of this node's host netns. */
  hostAddress(ip: string): Address | undefined {
    return this.host.state.addresses.find((a) => sameAddress(a.local, ip));
  }

  /** The node a pod IP belongs to per the cluster facts. */
  nodeOfPodIp(ip: string): string | undefined {
    return this.facts.pods.find((p) => p.ips.some((a) => sameAddress(a, ip)))?.node;
  }

  /** The node whose address (InternalIP, underlay, VTEP) `ip` is, per the cluster facts. */
  nodeWithAddress(ip: string): string | undefined {
    return this.facts.nodes.find((n) => n.addresses.some((a) => sameAddress(a, ip)))?.name;
  }

  /**
   * The other end of a veth on this node. Both ends must point at each other (link_index); a pod's
   * eth0 usually pairs with a host-side veth, but a veth may also join two pod netns directly.
   */
  vethPeer(ref: LinkRef): LinkRef | undefined {
    const { view, link } = ref;
    if (link.kind !== "veth" || link.linkIfindex === undefined) return undefined;
    const order =
      view.kind === "pod" ? [this.host, ...this.views.filter((v) => v !== this.host)] : this.views;
    for (const candidate of order) {
      if (candidate === view) continue;
      if (view.kind === "host" && candidate.kind === "host") continue;
      const peer = candidate.state.links.find(
        (l) =>
          l.kind === "veth" &&
          l.ifindex === link.linkIfindex &&
          (l.linkIfindex === undefined ? candidate.kind === "host" : l.linkIfindex === link.ifindex),
      );
      if (peer) return { view: candidate, link: peer };
    }
    return undefined;
  }
}

export function where(view: NetnsView): string {
  if (view.kind === "host") return `the host netns of ${view.node}`;
  const pod = view.pod ? `pod ${view.pod.namespace}/${view.pod.name}` : "pod";
  return `${pod} (netns ${view.state.netns} on ${view.node})`;
}

export function linkByName(state: NetnsState, name: string): Link | undefined {
  return state.links.find((l) => l.name === name);
}

export function addressesOf(state: NetnsState, dev: string): Address[] {
  return state.addresses.filter((a) => a.ifname === dev);
}

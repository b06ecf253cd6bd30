/**
 * Indexes over the node states a trace can use: which netns holds an address, which host veth is a
 * pod's peer, which node owns an underlay address or a VTEP. Links are always looked up within one
 * netns: (node, netns, ifindex), never by ifindex alone.
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

export class World {
  readonly views: NetnsView[] = [];
  private readonly hostByNode = new Map<string, NetnsView>();

  constructor(
    readonly nodes: readonly NodeState[],
    readonly facts: ClusterFacts,
  ) {
    for (const n of nodes) {
      const host: NetnsView = { node: n.node, kind: "host", state: n.host, host: n.host, ips: [] };
      this.views.push(host);
      this.hostByNode.set(n.node, host);
      for (const p of n.pods) {
        const fact = facts.pods.find((f) => f.ips.some((ip) => p.ips.some((q) => sameAddress(ip, q))));
        const pod = p.pod ?? (fact ? { namespace: fact.namespace, name: fact.name } : undefined);
        this.views.push({
          node: n.node,
          kind: "pod",
          state: p.state,
          host: n.host,
          ips: p.ips,
          ...(pod ? { pod } : {}),
        });
      }
    }
  }

  hostOf(node: string): NetnsView | undefined {
    return this.hostByNode.get(node);
  }

  /** The pod netns that owns `ip` (as a pod address), on any node. */
  podNetnsOf(ip: string): NetnsView | undefined {
    return this.views.find((v) => v.kind === "pod" && v.ips.some((a) => sameAddress(a, ip)));
  }

  /** The netns (pod or host) that has `ip` configured on one of its links. */
  netnsWithAddress(ip: string): { view: NetnsView; address: Address } | undefined {
    for (const view of this.views) {
      const address = view.state.addresses.find((a) => sameAddress(a.local, ip));
      if (address) return { view, address };
    }
    return undefined;
  }

  /** A node host netns that has `ip` on one of its links (an underlay address or a VTEP). */
  hostWithAddress(ip: string): { view: NetnsView; address: Address } | undefined {
    for (const view of this.hostByNode.values()) {
      const address = view.state.addresses.find((a) => sameAddress(a.local, ip));
      if (address) return { view, address };
    }
    return undefined;
  }

  /** The node a pod IP belongs to per the cluster facts (even when its node was not captured). */
  nodeOfPodIp(ip: string): string | undefined {
    return this.facts.pods.find((p) => p.ips.some((a) => sameAddress(a, ip)))?.node;
  }

  /**
   * The other end of a veth. A pod's eth0 points (link_index) at its host-side veth in the node's
   * host netns; a host veth points at eth0 inside a pod netns of the same node. Both ends must
   * point at each other.
   */
  vethPeer(ref: LinkRef): LinkRef | undefined {
    const { view, link } = ref;
    if (link.kind !== "veth" || link.linkIfindex === undefined) return undefined;
    if (view.kind === "pod") {
      const hostView = this.hostByNode.get(view.node);
      const peer = hostView?.state.links.find((l) => l.ifindex === link.linkIfindex && l.kind === "veth");
      if (!hostView || !peer) return undefined;
      if (peer.linkIfindex !== undefined && peer.linkIfindex !== link.ifindex) return undefined;
      return { view: hostView, link: peer };
    }
    for (const candidate of this.views) {
      if (candidate.kind !== "pod" || candidate.node !== view.node) continue;
      const peer = candidate.state.links.find(
        (l) => l.kind === "veth" && l.ifindex === link.linkIfindex && l.linkIfindex === link.ifindex,
      );
      if (peer) return { view: candidate, link: peer };
    }
    return undefined;
  }
}

export function linkByName(state: NetnsState, name: string): Link | undefined {
  return state.links.find((l) => l.name === name);
}

export function linkByIfindex(state: NetnsState, ifindex: number): Link | undefined {
  return state.links.find((l) => l.ifindex === ifindex);
}

export function addressesOf(state: NetnsState, dev: string): Address[] {
  return state.addresses.filter((a) => a.ifname === dev);
}

export function isLocalAddress(state: NetnsState, ip: string): boolean {
  if (state.addresses.some((a) => sameAddress(a.local, ip))) return true;
  return state.routes.some((r) => r.type === "local" && r.table === "local" && r.dst === `${ip}/32`);
}

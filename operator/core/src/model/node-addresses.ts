/**
 * A node's own addresses, the ones other nodes send to: global addresses of its host netns on
 * uplink devices (a NIC, a bond or VLAN, or a veth whose peer is no pod of the node — a VM's or a
 * kind node's eth0), not on the devices that serve its pods (a bridge, a tunnel, a pod's host-side
 * veth holding the pod gateway as the CNI ptp plugin sets it) or kube-proxy's dummy kube-ipvs0.
 */
import type { NodeState } from "./state.js";

export function nodeAddresses(node: NodeState): string[] {
  const podPeers = new Set(
    node.pods.flatMap((p) => p.state.links.filter((l) => l.kind === "veth").map((l) => l.linkIfindex)),
  );
  return node.host.addresses
    .filter((a) => {
      if (a.scope !== "global") return false;
      const link = node.host.links.find((l) => l.ifindex === a.ifindex);
      if (!link) return false;
      if (link.kind === "device" || link.kind === "other") return true;
      return link.kind === "veth" && !podPeers.has(link.ifindex);
    })
    .map((a) => a.local);
}

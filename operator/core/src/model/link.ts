/**
 * Links, named as the kernel and iproute2 name them (`ip -d link`).
 * A link is identified by (node, netns, ifindex), never by ifindex alone: every pod netns has
 * its own ifindex 1 (lo) and, usually, an eth0 that is ifindex 2 or 3.
 */

/** IFLA_OPERSTATE as `ip -j link` prints it. */
export type OperState = "UP" | "DOWN" | "UNKNOWN" | "LOWERLAYERDOWN" | "DORMANT" | "NOTPRESENT" | "TESTING";

/** Bridge port state (BR_STATE_*), from `ip -d link` (bridge_slave) or `bridge link`. */
export type BridgePortState = "disabled" | "listening" | "learning" | "forwarding" | "blocking";

/** What a bridge says of one of its ports (IFLA_INFO_SLAVE_DATA for slave kind "bridge"). */
export interface BridgePort {
  state: BridgePortState;
  learning?: boolean;
  flood?: boolean;
  hairpin?: boolean;
  neighSuppress?: boolean;
}

interface LinkBase {
  ifindex: number;
  /** ifname, without the `@ifN` suffix iproute2's text form adds. */
  name: string;
  mtu: number;
  operstate: OperState;
  /** Interface flags as printed: UP, LOWER_UP, BROADCAST, NOARP, M-DOWN, ... */
  flags: string[];
  /** link/ether address (lladdr), when the link has one. */
  mac?: string;
  /** Name of the master device (bridge, bond, VRF, ovs-system) this link is enslaved to. */
  master?: string;
  /** IFLA_LINK: for a veth the peer's ifindex (in the peer's netns), for a vlan the lower device. */
  linkIfindex?: number;
  /** IFLA_LINK_NETNSID: the netns id (as seen from this netns) where linkIfindex lives. */
  linkNetnsid?: number;
  /**
   * Name of the netns where linkIfindex lives, when iproute2's text form printed it instead of the
   * id (`link-netns cni-7abaad58-…`: the peer netns is named under /var/run/netns). JSON has only the id.
   */
  linkNetns?: string;
  /** Bridge port details when this link is a bridge port. */
  bridgePort?: BridgePort;
  /** Raw IFLA_INFO_KIND, e.g. "veth", "bridge", "vxlan", "ipip", "" for a physical NIC. */
  infoKind?: string;
}

export interface VethLink extends LinkBase {
  kind: "veth";
}

export interface BridgeLink extends LinkBase {
  kind: "bridge";
  bridge: {
    stpState?: number;
    vlanFiltering?: boolean;
    /** Per-bridge nf_call_iptables (br_netfilter): overrides the global sysctl when set. */
    nfCallIptables?: boolean;
  };
}

/** Common to VXLAN and Geneve: a UDP tunnel endpoint. */
export interface TunnelInfo {
  /** VNI (`vxlan id`, `geneve id`); absent in collect-metadata ("external") mode. */
  vni?: number;
  /** Local VTEP address (`local`). */
  local?: string;
  /** Fixed remote VTEP (`remote`) or multicast group (`group`), if any. */
  remote?: string;
  group?: string;
  /** Destination UDP port (`dstport`): 8472 for flannel, 4789 IANA VXLAN, 6081 Geneve. */
  dstport: number;
  /** Underlay device (`dev`), by name. */
  underlayDev?: string;
  /** Underlay device ifindex (IFLA_VXLAN_LINK). */
  underlayIfindex?: number;
  /** Collect-metadata mode: VNI/remote come per packet from an eBPF/OVS program (cilium_vxlan, genev_sys_6081). */
  external: boolean;
  ttl?: number | "inherit" | "auto";
}

export interface VxlanLink extends LinkBase {
  kind: "vxlan";
  vxlan: TunnelInfo & { learning: boolean; proxy?: boolean; l2miss?: boolean; l3miss?: boolean };
}

export interface GeneveLink extends LinkBase {
  kind: "geneve";
  geneve: TunnelInfo;
}

export interface IpipLink extends LinkBase {
  kind: "ipip";
  ipip: { local?: string; remote?: string; underlayDev?: string };
}

export interface DummyLink extends LinkBase {
  kind: "dummy";
}

export interface LoopbackLink extends LinkBase {
  kind: "loopback";
}

/** A physical NIC or anything without IFLA_INFO_KIND (e.g. a lab's underlay end of a veth is "veth"). */
export interface DeviceLink extends LinkBase {
  kind: "device";
}

/** Kinds netmap does not model in detail (vlan, macvlan, bond, openvswitch, wireguard, ...). */
export interface OtherLink extends LinkBase {
  kind: "other";
}

export type Link =
  | VethLink
  | BridgeLink
  | VxlanLink
  | GeneveLink
  | IpipLink
  | DummyLink
  | LoopbackLink
  | DeviceLink
  | OtherLink;

export type LinkKind = Link["kind"];

/** A link is usable for forwarding when it is administratively up and has carrier. */
export function isLinkUp(link: Link): boolean {
  if (!link.flags.includes("UP")) return false;
  // Virtual devices without carrier reporting (lo, dummy, vxlan) show operstate UNKNOWN while up.
  return link.operstate === "UP" || (link.operstate === "UNKNOWN" && link.flags.includes("LOWER_UP"));
}

/** Bridge forwarding database entries, `bridge -j fdb show`. */
export interface FdbEntry {
  mac: string;
  /** The port (or the VXLAN device, for `self` entries on a tunnel). */
  dev: string;
  /** The bridge the port belongs to, for entries in a bridge's own FDB ("master cni0"). */
  master?: string;
  vlan?: number;
  /** Remote VTEP for VXLAN/Geneve `self` entries (`dst`). */
  dst?: string;
  vni?: number;
  port?: number;
  /** "permanent", "static", or undefined for a learned (dynamic) entry. */
  state?: "permanent" | "static" | "noarp";
  /** "self", "master", "extern_learn", "offload", "sticky", ... */
  flags: string[];
}

/** A bridge port's state as `bridge -j link` prints it. */
export interface BridgePortLink {
  ifindex: number;
  ifname: string;
  master: string;
  state: string;
  operstate?: string;
  mtu?: number;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
  /** Interface flags as printed (UP, LOWER_UP, ...), port priority and path cost. */
  flags?: string[];
  priority?: number;
  cost?: number;
}

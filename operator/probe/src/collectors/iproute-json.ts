/**
 * The few fields of `ip -j` output the collectors need to find pod netns. Deliberately tiny: the
 * real model comes from the parsers in @netmap/core; this only reads links, peers and addresses.
 */

/** A link as `ip -j -d link show` prints it, reduced to what discovery needs. */
export interface RawLink {
  ifindex: number;
  ifname: string;
  kind?: string;
  /** For a veth whose peer is in another netns: the peer's ifindex there. */
  linkIndex?: number;
  /** For a veth whose peer is in another netns: that netns' id as seen from this one. */
  linkNetnsid?: number;
  master?: string;
  /** A tunnel's lower device (`vxlan … dev eth0`: linkinfo.info_data.link). */
  tunnelDev?: string;
  /** A tunnel's local address (`vxlan … local 172.31.9.1`). */
  tunnelLocal?: string;
}

/** A route as `ip -j route show table all` prints it, reduced to where it leaves. */
export interface RawRoute {
  /** As printed: "default", "10.244.1.0/24", "10.244.1.5". */
  dst: string;
  type: string;
  table: string;
  /** The devices it leaves through: `dev`, or each next hop's. */
  devs: string[];
  gateway?: string;
}

export interface RawAddr {
  ifname: string;
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope: string;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function parseArray(text: string, what: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: output is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v;
}

/** Reads `ip -j [-d] link show`. */
export function parseLinks(text: string): RawLink[] {
  const out: RawLink[] = [];
  for (const item of parseArray(text, "ip -j link show")) {
    const o = record(item);
    if (!o || typeof o.ifindex !== "number" || typeof o.ifname !== "string") continue;
    const info = record(o.linkinfo);
    const link: RawLink = { ifindex: o.ifindex, ifname: o.ifname };
    if (typeof info?.info_kind === "string") link.kind = info.info_kind;
    if (typeof o.link_index === "number") link.linkIndex = o.link_index;
    if (typeof o.link_netnsid === "number") link.linkNetnsid = o.link_netnsid;
    if (typeof o.master === "string") link.master = o.master;
    const data = record(info?.info_data);
    if (typeof data?.link === "string") link.tunnelDev = data.link;
    if (typeof data?.local === "string") link.tunnelLocal = data.local;
    out.push(link);
  }
  return out;
}

/** Reads `ip -j route show table all`. */
export function parseRoutes(text: string): RawRoute[] {
  const out: RawRoute[] = [];
  for (const item of parseArray(text, "ip -j route show table all")) {
    const o = record(item);
    if (!o || typeof o.dst !== "string") continue;
    const hops = Array.isArray(o.nexthops) ? o.nexthops.map(record) : [];
    const devs = [o.dev, ...hops.map((h) => h?.dev)].filter((d): d is string => typeof d === "string");
    const route: RawRoute = {
      dst: o.dst,
      type: typeof o.type === "string" ? o.type : "unicast",
      table: typeof o.table === "string" ? o.table : "main",
      devs,
    };
    if (typeof o.gateway === "string") route.gateway = o.gateway;
    out.push(route);
  }
  return out;
}

/** Reads `ip -j addr show`. */
export function parseAddrs(text: string): RawAddr[] {
  const out: RawAddr[] = [];
  for (const item of parseArray(text, "ip -j addr show")) {
    const o = record(item);
    if (!o || typeof o.ifname !== "string" || !Array.isArray(o.addr_info)) continue;
    for (const a of o.addr_info) {
      const r = record(a);
      if (!r || (r.family !== "inet" && r.family !== "inet6") || typeof r.local !== "string") continue;
      out.push({
        ifname: o.ifname,
        family: r.family,
        local: r.local,
        prefixlen: typeof r.prefixlen === "number" ? r.prefixlen : 0,
        scope: typeof r.scope === "string" ? r.scope : "",
      });
    }
  }
  return out;
}

/** Reads `ip -j netns list-id`: nsid → name (name only for netns mounted under /var/run/netns). */
export function parseNetnsIds(text: string): Map<number, string | undefined> {
  const out = new Map<number, string | undefined>();
  // `ip -j netns list-id` prints nothing at all when the netns knows no other netns.
  if (text.trim() === "") return out;
  for (const item of parseArray(text, "ip -j netns list-id")) {
    const o = record(item);
    if (!o || typeof o.nsid !== "number") continue;
    out.set(o.nsid, typeof o.name === "string" ? o.name : undefined);
  }
  return out;
}

/** Global (non-loopback, non-link-local) addresses of a netns, IPv4 first. */
export function globalAddresses(addrs: readonly RawAddr[]): string[] {
  const picked = addrs.filter((a) => a.ifname !== "lo" && a.scope === "global");
  return [
    ...picked.filter((a) => a.family === "inet").map((a) => a.local),
    ...picked.filter((a) => a.family === "inet6").map((a) => a.local),
  ];
}

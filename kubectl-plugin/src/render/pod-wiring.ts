/**
 * The wiring of one pod, read from its node's state: the pod netns and eth0, the veth peer on the
 * node, the bridge and port state (or the /32 host route of a routed CNI), and the node's tunnels.
 */
import type { Link, NetnsState, NodeState, Route } from "@netmap/core";
import { isLinkUp } from "@netmap/core";

/** One link, as the pod view shows it. */
export interface WiredLink {
  name: string;
  ifindex: number;
  kind: Link["kind"];
  mtu: number;
  operstate: string;
  up: boolean;
  mac?: string;
  addresses: string[];
}

/** A tunnel device of the node (VXLAN, Geneve, IPIP). */
export interface WiredTunnel extends WiredLink {
  vni?: number;
  local?: string;
  remote?: string;
  dstport?: number;
}

/** Everything `kubectl netmap pod` shows. */
export interface PodWiring {
  node: string;
  netns: string;
  pod?: string;
  ips: string[];
  /** The pod's interface holding its IP (eth0). */
  iface?: WiredLink;
  /** The pod's default route, as iproute2 prints it. */
  podRoutes: string[];
  /** The node end of the pod's veth. */
  peer?: WiredLink & { bridgePortState?: string; master?: string };
  bridge?: WiredLink;
  /** The host's route to the pod's first IP (a bridge subnet or a /32 host route). */
  hostRoute?: string;
  tunnels: WiredTunnel[];
  /** Things that would stop traffic, in words. */
  problems: string[];
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** True when IPv4 `ip` is inside `prefix` ("10.244.0.0/24"). */
export function inPrefix(ip: string, prefix: string): boolean {
  const [net, lenText] = prefix.split("/");
  const len = Number(lenText ?? "32");
  const a = ipv4ToInt(ip);
  const b = net !== undefined ? ipv4ToInt(net) : undefined;
  if (a === undefined || b === undefined) return ip === net;
  const size = 2 ** (32 - len);
  return Math.floor(a / size) === Math.floor(b / size);
}

/** Renders a route the way `ip route` does (enough of it to recognise). */
export function routeText(r: Route): string {
  const dst = r.dst === "0.0.0.0/0" ? "default" : r.dst;
  const parts = [r.type !== "unicast" ? `${r.type} ${dst}` : dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  if (r.protocol) parts.push(`proto ${r.protocol}`);
  if (r.scope) parts.push(`scope ${r.scope}`);
  if (r.prefsrc) parts.push(`src ${r.prefsrc}`);
  parts.push(...r.flags);
  if (r.table !== "main") parts.push(`table ${r.table}`);
  return parts.join(" ");
}

function wired(ns: NetnsState, link: Link): WiredLink {
  const w: WiredLink = {
    name: link.name,
    ifindex: link.ifindex,
    kind: link.kind,
    mtu: link.mtu,
    operstate: link.operstate,
    up: isLinkUp(link),
    addresses: ns.addresses.filter((a) => a.ifindex === link.ifindex).map((a) => `${a.local}/${a.prefixlen}`),
  };
  if (link.mac) w.mac = link.mac;
  return w;
}

function bestRoute(ns: NetnsState, ip: string): Route | undefined {
  const len = (r: Route) => Number(r.dst.split("/")[1] ?? "32");
  return ns.routes
    .filter((r) => r.table === "main" && r.family === 4 && inPrefix(ip, r.dst))
    .sort((a, b) => len(b) - len(a))[0];
}

/** Works out the wiring of the pod netns named `netns` on `node`; undefined when it is not there. */
export function podWiring(node: NodeState, netns: string): PodWiring | undefined {
  const pod = node.pods.find((p) => p.state.netns === netns);
  if (!pod) return undefined;
  const problems: string[] = [];
  const w: PodWiring = { node: node.node, netns, ips: pod.ips, podRoutes: [], tunnels: [], problems };
  if (pod.pod) w.pod = `${pod.pod.namespace}/${pod.pod.name}`;
  const ip = pod.ips[0];
  const ifAddr = pod.state.addresses.find((a) => a.local === ip);
  const iface = pod.state.links.find((l) => l.ifindex === ifAddr?.ifindex);
  if (iface) {
    w.iface = wired(pod.state, iface);
    if (!w.iface.up) problems.push(`${iface.name} in the pod is ${iface.operstate}`);
  }
  w.podRoutes = pod.state.routes.filter((r) => r.table === "main").map(routeText);
  const host = node.host;
  const peer =
    host.links.find(
      (l) => l.kind === "veth" && iface?.linkIfindex !== undefined && l.ifindex === iface.linkIfindex,
    ) ?? host.links.find((l) => l.kind === "veth" && iface !== undefined && l.linkIfindex === iface.ifindex);
  if (peer) {
    w.peer = wired(host, peer);
    if (peer.master) w.peer.master = peer.master;
    if (peer.bridgePort) w.peer.bridgePortState = peer.bridgePort.state;
    if (!w.peer.up) problems.push(`veth ${peer.name} on ${node.node} is ${peer.operstate}`);
    if (peer.bridgePort && peer.bridgePort.state !== "forwarding") {
      problems.push(`bridge port ${peer.name} is ${peer.bridgePort.state}, not forwarding`);
    }
    const bridge = host.links.find((l) => l.name === peer.master);
    if (bridge) {
      w.bridge = wired(host, bridge);
      if (!w.bridge.up) problems.push(`bridge ${bridge.name} is ${bridge.operstate}`);
    }
  } else {
    problems.push(`no veth on ${node.node} is the peer of the pod's interface`);
  }
  const route = ip !== undefined ? bestRoute(host, ip) : undefined;
  if (route) w.hostRoute = routeText(route);
  else if (ip !== undefined) problems.push(`${node.node} has no route to ${ip}`);
  for (const l of host.links) {
    if (l.kind !== "vxlan" && l.kind !== "geneve" && l.kind !== "ipip") continue;
    const t: WiredTunnel = wired(host, l);
    const info = l.kind === "vxlan" ? l.vxlan : l.kind === "geneve" ? l.geneve : undefined;
    if (info) {
      if (info.vni !== undefined) t.vni = info.vni;
      if (info.local) t.local = info.local;
      if (info.remote) t.remote = info.remote;
      t.dstport = info.dstport;
    } else if (l.kind === "ipip") {
      if (l.ipip.local) t.local = l.ipip.local;
      if (l.ipip.remote) t.remote = l.ipip.remote;
    }
    w.tunnels.push(t);
  }
  return w;
}

function linkLine(l: WiredLink): string {
  const state = l.up ? "UP" : l.operstate;
  const addrs = l.addresses.length > 0 ? `  ${l.addresses.join(" ")}` : "";
  return `${l.name} (${l.kind}, if${l.ifindex}, mtu ${l.mtu}, ${state}${l.mac ? `, ${l.mac}` : ""})${addrs}`;
}

/** Plain-text view of {@link PodWiring}; ends with a newline. */
export function renderPodText(w: PodWiring): string {
  const out: string[] = [`pod ${w.pod ?? "(unknown name)"}  ${w.ips.join(" ")}  on ${w.node}`];
  out.push(`  pod netns ${w.netns}`);
  out.push(`    interface  ${w.iface ? linkLine(w.iface) : "(none holds the pod's IP)"}`);
  for (const r of w.podRoutes) out.push(`    route      ${r}`);
  out.push(`  ${w.node} host netns`);
  if (w.peer) {
    out.push(`    veth peer  ${linkLine(w.peer)}`);
    if (w.peer.master) {
      out.push(`    bridge     ${w.bridge ? linkLine(w.bridge) : w.peer.master}`);
      out.push(
        `    port       ${w.peer.name} on ${w.peer.master}: ${w.peer.bridgePortState ?? "state unknown"}`,
      );
    }
  }
  out.push(
    `    route      ${w.hostRoute ?? "(none)"}${w.hostRoute && !w.peer?.master ? "  (host route)" : ""}`,
  );
  if (w.tunnels.length === 0) out.push("    tunnels    (none)");
  for (const t of w.tunnels) {
    const vni = t.vni !== undefined ? ` VNI ${t.vni}` : "";
    const ends = `${t.local ?? "?"}${t.remote ? ` → ${t.remote}` : ""}${t.dstport ? ` udp/${t.dstport}` : ""}`;
    out.push(
      `    tunnel     ${t.name} (${t.kind}${vni}, mtu ${t.mtu}, ${t.up ? "UP" : t.operstate}) ${ends}`,
    );
  }
  for (const p of w.problems) out.push(`  ! ${p}`);
  return `${out.join("\n")}\n`;
}

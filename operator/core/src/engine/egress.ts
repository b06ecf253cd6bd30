/**
 * How a packet leaves a netns, by the kind of the output device: a veth to its peer, a bridge to a
 * port through the FDB, a VXLAN device to a remote VTEP, or a routed underlay device to the next
 * node. Each returns the cursor where the packet arrives, or ends the trace.
 */
import type { FdbEntry } from "../model/fdb.js";
import type { BridgeLink, Link, VxlanLink } from "../model/link.js";
import { isLinkUp } from "../model/link.js";
import type { Neighbour } from "../model/neigh.js";
import { isNeighbourUsable } from "../model/neigh.js";
import { sysctlNumber } from "../model/sysctl.js";
import type { Evidence, Packet } from "../model/trace.js";
import { iproute } from "./commands.js";
import { routeOutDev } from "./describe.js";
import { ev } from "./evidence.js";
import { sameAddress } from "./ip.js";
import { runHook } from "./netfilter/hooks.js";
import { emitNetfilter, netfilterBase } from "./netfilter-hops.js";
import { lookupRoute } from "./routing.js";
import type { Cursor, WalkContext } from "./walk.js";
import { where } from "./walk.js";
import type { LinkRef, NetnsView } from "./world.js";

export interface Egress {
  view: NetnsView;
  link: Link;
  packet: Packet;
  /** The route's gateway, or the destination itself for a directly connected route. */
  nextHop: string;
  mark: number;
  dnat: boolean;
  sourceMtu?: number;
}

/** Bytes VXLAN adds on an IPv4 underlay: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD_IPV4 = 50;
const ZERO_MAC = "00:00:00:00:00:00";

export function egress(ctx: WalkContext, e: Egress): Cursor {
  checkLinkUp(ctx, e.view, e.link, "transmit");
  switch (e.link.kind) {
    case "veth":
      // A host-side veth with no pod netns behind it is the node's uplink (a VM's or a kind node's
      // eth0 is often a veth into the underlay): the next hop is another node, not a peer netns.
      if (e.view.kind === "host" && !ctx.world.vethPeer({ view: e.view, link: e.link }))
        return viaUnderlay(ctx, e);
      return viaVeth(ctx, e);
    case "bridge":
      return viaBridge(ctx, e, e.link);
    case "vxlan":
      return viaVxlan(ctx, e, e.link);
    default:
      return viaUnderlay(ctx, e);
  }
}

function sameMac(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/**
 * A link that is not up ends the trace with LINK_DOWN. For a veth whose carrier is missing, the
 * finding names the end that was set down: a veth has carrier only while both ends are up.
 */
export function checkLinkUp(
  ctx: WalkContext,
  view: NetnsView,
  link: Link,
  role: "transmit" | "receive",
): void {
  if (isLinkUp(link)) return;
  let culprit: LinkRef = { view, link };
  if (link.kind === "veth" && link.flags.includes("UP")) {
    const peer = ctx.world.vethPeer({ view, link });
    if (peer && !peer.link.flags.includes("UP")) culprit = peer;
  }
  const evidence = [ev.link(culprit.link), ...(culprit.link === link ? [] : [ev.link(link)])];
  ctx.b.hop(view, {
    layer: "link",
    primitive: link.kind === "veth" ? "veth" : "device",
    device: link.name,
    action: "drop",
    summary: `${link.name} is ${link.operstate}${link.flags.includes("UP") ? " (no carrier)" : " (administratively down)"}: it cannot ${role}`,
    evidence,
    command: iproute(view.state, "ip", `-d link show ${link.name}`),
  });
  const who = culprit.link === link ? `${link.name}` : `${culprit.link.name}, the veth peer of ${link.name},`;
  ctx.b.finding(view, {
    code: "LINK_DOWN",
    severity: "error",
    device: culprit.link.name,
    message: `${who} is down in ${where(culprit.view)}${culprit.link.flags.includes("UP") ? "" : ` (fix: ${iproute(culprit.view.state, "ip", `link set ${culprit.link.name} up`)})`}`,
    evidence,
  });
  ctx.b.stop("Dropped", `${culprit.link.name} is down in ${where(culprit.view)}`);
}

/** The MAC the next hop answers with: the captured neighbour entry, else the owner of the address. */
function resolveNextHopMac(
  ctx: WalkContext,
  view: NetnsView,
  dev: string,
  ip: string,
): { mac?: string; neighbour?: Neighbour } {
  const neighbour = view.state.neighbours.find((n) => n.dev === dev && sameAddress(n.dst, ip));
  if (neighbour && isNeighbourUsable(neighbour) && neighbour.lladdr)
    return { mac: neighbour.lladdr, neighbour };
  const owner = ctx.world.netnsWithAddress(ip);
  const mac = owner?.view.state.links.find((l) => l.name === owner.address.ifname)?.mac;
  return mac ? { mac } : {};
}

function viaVeth(ctx: WalkContext, e: Egress): Cursor {
  const { view, link, packet } = e;
  const { mac, neighbour } = resolveNextHopMac(ctx, view, link.name, e.nextHop);
  const peer = ctx.world.vethPeer({ view, link });
  ctx.b.hop(view, {
    layer: "link",
    primitive: "veth",
    device: link.name,
    action: "transmit",
    summary: `out of ${link.name} (veth, mtu ${link.mtu}) to ${e.nextHop}${mac ? ` at ${mac}` : ""}${peer ? `; the peer is ${peer.link.name} in ${peer.view.kind === "host" ? `the host netns of ${peer.view.node}` : `netns ${peer.view.state.netns}`}` : ""}`,
    evidence: [ev.link(link), ...(neighbour ? [ev.neighbour(neighbour)] : [])],
    command: iproute(view.state, "ip", `-d link show ${link.name}`),
  });
  if (!peer) {
    ctx.b.stop(
      "Unknown",
      `the veth peer of ${link.name} (ifindex ${link.linkIfindex ?? "?"}) is not in the captured state`,
      [
        `the netns holding ifindex ${link.linkIfindex ?? "?"} (link-netnsid ${link.linkNetnsid ?? "?"}) on ${view.node}`,
      ],
    );
  }
  checkLinkUp(ctx, peer.view, peer.link, "receive");
  ctx.b.hop(peer.view, {
    layer: "link",
    primitive: "veth",
    device: peer.link.name,
    action: "receive",
    summary: `into ${peer.link.name} (veth peer of ${link.name})${peer.link.master ? `, a port of ${peer.link.master}` : ""}`,
    evidence: [ev.link(peer.link)],
    command: iproute(peer.view.state, "ip", `-s link show ${peer.link.name}`),
  });
  const base = { mark: e.mark, dnat: e.dnat, ...(e.sourceMtu ? { sourceMtu: e.sourceMtu } : {}) };
  if (peer.link.master) {
    const bridge = peer.view.state.links.find((l) => l.name === peer.link.master);
    if (bridge?.kind === "bridge") return bridgeIngress(ctx, peer.view, bridge, peer.link, mac, packet, base);
  }
  return { view: peer.view, packet, inDev: peer.link.name, ...base };
}

/** br_netfilter passes bridged IPv4 frames through iptables when the sysctl (or the bridge's own switch) says so. */
function bridgeNetfilterOn(view: NetnsView, bridge: BridgeLink): boolean | undefined {
  if (bridge.bridge.nfCallIptables === true) return true;
  const v = sysctlNumber(view.state.sysctls, "net.bridge.bridge-nf-call-iptables");
  return v === undefined ? undefined : v === 1;
}

function hasKubeProxyRules(view: NetnsView): boolean {
  const { iptables, nftables } = view.state.netfilter;
  if (iptables?.tables.get("nat")?.chain("KUBE-SERVICES")) return true;
  return nftables?.tables.some((t) => t.name === "kube-proxy") ?? false;
}

function checkPortForwarding(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  port: Link,
  role: "receive" | "transmit",
): void {
  const state = port.bridgePort?.state;
  if (state === undefined || state === "forwarding") return;
  const evidence = [ev.link(port)];
  ctx.b.drop(
    view,
    {
      layer: "l2",
      primitive: "bridge-port",
      device: port.name,
      action: "drop",
      summary: `port ${port.name} of ${bridge.name} is in state ${state}: it does not ${role === "receive" ? "accept" : "send"} frames`,
      evidence,
      command: iproute(view.state, "bridge", `link show dev ${port.name}`),
    },
    {
      code: "BRIDGE_PORT_NOT_FORWARDING",
      severity: "error",
      device: port.name,
      message: `bridge port ${port.name} on ${bridge.name} is ${state}, not forwarding`,
      evidence,
    },
    `bridge port ${port.name} is ${state} on ${view.node}`,
  );
}

/** A frame enters a bridge through a port: up to the host stack when addressed to the bridge, else bridged. */
function bridgeIngress(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  port: Link,
  dstMac: string | undefined,
  packet: Packet,
  base: { mark: number; dnat: boolean; sourceMtu?: number },
): Cursor {
  checkLinkUp(ctx, view, port, "receive");
  checkPortForwarding(ctx, view, bridge, port, "receive");
  checkLinkUp(ctx, view, bridge, "receive");
  const toBridge = dstMac === undefined || sameMac(dstMac, bridge.mac);
  ctx.b.hop(view, {
    layer: "l2",
    primitive: "bridge-port",
    device: port.name,
    action: toBridge ? "receive" : "forward",
    summary: toBridge
      ? `port ${port.name} (${port.bridgePort?.state ?? "state not captured"}) → ${bridge.name}: the frame is for ${bridge.name}'s own MAC ${bridge.mac ?? "?"}, so it goes up to the host's IP stack`
      : `port ${port.name} (${port.bridgePort?.state ?? "state not captured"}) → ${bridge.name}: bridged towards ${dstMac}`,
    evidence: [ev.link(port), ev.link(bridge)],
    command: iproute(view.state, "bridge", `link show dev ${port.name}`),
  });
  if (toBridge) return { view, packet, inDev: bridge.name, physInDev: port.name, ...base };

  // Bridged pod-to-pod on one node: netfilter sees it only through br_netfilter.
  const nfOn = bridgeNetfilterOn(view, bridge);
  let pkt = packet;
  const nf = netfilterBase(view.state, ctx.endpoint);
  if (nfOn) {
    const pre = runHook(view.state, "prerouting", pkt, {
      ...nf,
      inDev: bridge.name,
      physInDev: port.name,
      mark: base.mark,
      ctDnat: base.dnat,
    });
    emitNetfilter(ctx.b, view, pre, "prerouting");
    pkt = pre.packet;
  } else if (hasKubeProxyRules(view)) {
    const key = "net.bridge.bridge-nf-call-iptables";
    ctx.b.finding(view, {
      code: "BR_NETFILTER_OFF",
      severity: "warning",
      device: bridge.name,
      message: `${key} is ${view.state.sysctls[key] ?? "not set (br_netfilter not loaded?)"} on ${view.node}: frames bridged on ${bridge.name} bypass kube-proxy's iptables rules (Service replies between pods on this bridge are not un-NATed)`,
      evidence: [ev.sysctl(key, view.state.sysctls[key]), ev.link(bridge)],
    });
  }
  const out = bridgeForward(ctx, view, bridge, dstMac as string, pkt, port);
  if (nfOn) {
    const fwd = runHook(view.state, "forward", pkt, {
      ...nf,
      inDev: bridge.name,
      outDev: bridge.name,
      physInDev: port.name,
      physOutDev: out.name,
      mark: base.mark,
      ctDnat: base.dnat,
    });
    emitNetfilter(ctx.b, view, fwd, "forward");
    const post = runHook(view.state, "postrouting", fwd.packet, {
      ...nf,
      inDev: bridge.name,
      outDev: bridge.name,
      physOutDev: out.name,
      mark: fwd.mark,
      ctDnat: base.dnat,
    });
    emitNetfilter(ctx.b, view, post, "postrouting");
    pkt = post.packet;
  }
  return toPortPeer(ctx, view, bridge, out, pkt, base);
}

/** The bridge's FDB decides the egress port for a destination MAC; unknown unicast floods. */
function bridgeForward(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  dstMac: string,
  packet: Packet,
  ingress?: Link,
): Link {
  const entry = view.state.fdb.find(
    (f) => sameMac(f.mac, dstMac) && f.master === bridge.name && !f.flags.includes("self"),
  );
  let port = entry ? view.state.links.find((l) => l.name === entry.dev) : undefined;
  let evidence: Evidence[] = entry ? [ev.fdb(entry)] : [];
  let summary: string;
  if (entry && port) {
    summary = `FDB of ${bridge.name}: ${dstMac} is behind port ${port.name}${entry.state ? ` (${entry.state})` : " (learned)"}`;
  } else {
    // Unknown unicast is flooded to every port; it reaches the one whose peer owns the address.
    port = portTowards(ctx, view, bridge, packet.dst);
    summary = `FDB of ${bridge.name} has no entry for ${dstMac}: flooded to all ports, reaches ${port?.name ?? "no port"}`;
    if (port) evidence = [ev.link(port)];
  }
  ctx.b.hop(view, {
    layer: "l2",
    primitive: "fdb",
    device: bridge.name,
    action: "forward",
    summary,
    evidence,
    command: iproute(
      view.state,
      "bridge",
      `fdb show br ${bridge.name}${dstMac ? ` | grep -i ${dstMac}` : ""}`,
    ),
  });
  if (!port) {
    ctx.b.stop("Unknown", `no port of ${bridge.name} leads to ${packet.dst}`, [
      `the pod netns of ${packet.dst} on ${view.node}`,
    ]);
  }
  if (ingress && port.name === ingress.name && !port.bridgePort?.hairpin) {
    ctx.b.stop(
      "Dropped",
      `${bridge.name} would send the frame back out of its ingress port ${port.name}, and hairpin mode is off`,
    );
  }
  return port;
}

/** The port's veth peer is a pod's eth0: the packet arrives in the pod netns. */
function toPortPeer(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  port: Link,
  packet: Packet,
  base: { mark: number; dnat: boolean; sourceMtu?: number },
): Cursor {
  // A port set down is also "disabled" in the bridge: the link is the cause, so it is checked first.
  checkLinkUp(ctx, view, port, "transmit");
  checkPortForwarding(ctx, view, bridge, port, "transmit");
  ctx.b.hop(view, {
    layer: "l2",
    primitive: "bridge-port",
    device: port.name,
    action: "transmit",
    summary: `${bridge.name} → port ${port.name} (${port.bridgePort?.state ?? "state not captured"})`,
    evidence: [ev.link(port)],
    command: iproute(view.state, "bridge", `link show dev ${port.name}`),
  });
  const peer = ctx.world.vethPeer({ view, link: port });
  if (!peer) {
    ctx.b.stop("Unknown", `the veth peer of ${port.name} is not in the captured state`, [
      `the pod netns behind ${port.name} (link-netnsid ${port.linkNetnsid ?? "?"}) on ${view.node}`,
    ]);
  }
  checkLinkUp(ctx, peer.view, peer.link, "receive");
  ctx.b.hop(peer.view, {
    layer: "link",
    primitive: "veth",
    device: peer.link.name,
    action: "receive",
    summary: `into ${peer.link.name} of ${where(peer.view)}`,
    evidence: [ev.link(peer.link)],
    command: iproute(peer.view.state, "ip", `-s link show ${peer.link.name}`),
  });
  return { view: peer.view, packet, inDev: peer.link.name, ...base };
}

/** The bridge port whose veth peer holds `ip`. */
function portTowards(ctx: WalkContext, view: NetnsView, bridge: BridgeLink, ip: string): Link | undefined {
  for (const l of view.state.links) {
    if (l.master !== bridge.name) continue;
    const peer = ctx.world.vethPeer({ view, link: l });
    if (peer?.view.state.addresses.some((a) => sameAddress(a.local, ip))) return l;
  }
  return undefined;
}

/** The host routes out of a bridge device (cni0): ARP/neighbour gives the MAC, the FDB the port. */
function viaBridge(ctx: WalkContext, e: Egress, bridge: BridgeLink): Cursor {
  const { view, packet } = e;
  const { mac, neighbour } = resolveNextHopMac(ctx, view, bridge.name, e.nextHop);
  ctx.b.hop(view, {
    layer: "l2",
    primitive: "bridge",
    device: bridge.name,
    action: "transmit",
    summary: `${bridge.name} sends to ${e.nextHop} at ${mac ?? "an address ARP would resolve"}${neighbour ? ` (neighbour ${neighbour.state.join(",")})` : ""}`,
    evidence: [ev.link(bridge), ...(neighbour ? [ev.neighbour(neighbour)] : [])],
    command: iproute(view.state, "ip", `neigh show dev ${bridge.name} to ${e.nextHop}`),
  });
  if (!mac)
    ctx.b.stop("Unknown", `nothing captured answers for ${e.nextHop} behind ${bridge.name}`, [
      `the pod netns holding ${e.nextHop}`,
    ]);
  const port = bridgeForward(ctx, view, bridge, mac, packet);
  return toPortPeer(ctx, view, bridge, port, packet, {
    mark: e.mark,
    dnat: e.dnat,
    ...(e.sourceMtu ? { sourceMtu: e.sourceMtu } : {}),
  });
}

/** VXLAN: neighbour (inner MAC of the remote VTEP) → FDB (remote VTEP IP) → UDP over the underlay → decap. */
function viaVxlan(ctx: WalkContext, e: Egress, vx: VxlanLink): Cursor {
  const { view, packet, nextHop } = e;
  const s = view.state;
  const neighbour = s.neighbours.find((n) => n.dev === vx.name && sameAddress(n.dst, nextHop));
  if (!neighbour || !isNeighbourUsable(neighbour) || !neighbour.lladdr) {
    ctx.b.drop(
      view,
      {
        layer: "l2",
        primitive: "neighbour",
        device: vx.name,
        action: "drop",
        summary: `no usable neighbour entry for ${nextHop} on ${vx.name}${vx.vxlan.learning ? "" : " (nolearning: nothing will resolve it)"}`,
        evidence: neighbour ? [ev.neighbour(neighbour)] : [],
        command: iproute(s, "ip", `neigh show dev ${vx.name}`),
      },
      {
        code: "NO_NEIGHBOUR",
        severity: "error",
        device: vx.name,
        message: `${vx.name} on ${view.node} has no neighbour entry for the remote VTEP address ${nextHop}: the CNI agent (flanneld) has not programmed it`,
        evidence: [ev.link(vx)],
      },
      `no neighbour for ${nextHop} on ${vx.name} (${view.node})`,
    );
  }
  const innerMac = neighbour.lladdr;
  ctx.b.hop(view, {
    layer: "l2",
    primitive: "neighbour",
    device: vx.name,
    action: "lookup",
    summary: `next hop ${nextHop} on ${vx.name} is MAC ${innerMac} (${neighbour.state.join(",")})`,
    evidence: [ev.neighbour(neighbour)],
    command: iproute(s, "ip", `neigh show dev ${vx.name} to ${nextHop}`),
  });
  const fdb: FdbEntry | undefined =
    s.fdb.find((f) => f.dev === vx.name && sameMac(f.mac, innerMac) && f.dst) ??
    s.fdb.find((f) => f.dev === vx.name && sameMac(f.mac, ZERO_MAC) && f.dst);
  if (!fdb?.dst) {
    ctx.b.drop(
      view,
      {
        layer: "tunnel",
        primitive: "fdb",
        device: vx.name,
        action: "drop",
        summary: `FDB of ${vx.name} has no entry for ${innerMac}: the kernel does not know which VTEP to send to`,
        evidence: [],
        command: iproute(s, "bridge", `fdb show dev ${vx.name}`),
      },
      {
        code: "NO_FDB_ENTRY",
        severity: "error",
        device: vx.name,
        message: `no FDB entry on ${vx.name} (${view.node}) maps ${innerMac} to a remote VTEP; expected \`${innerMac} dev ${vx.name} dst <remote node IP> self permanent\``,
        evidence: [ev.neighbour(neighbour)],
      },
      `no FDB entry for ${innerMac} on ${vx.name} (${view.node})`,
    );
  }
  const vtep = fdb.dst;
  const vni = fdb.vni ?? vx.vxlan.vni;
  const dport = fdb.port ?? vx.vxlan.dstport;
  ctx.b.hop(view, {
    layer: "tunnel",
    primitive: "fdb",
    device: vx.name,
    action: "lookup",
    summary: `FDB of ${vx.name}: ${innerMac} → remote VTEP ${vtep}`,
    evidence: [ev.fdb(fdb)],
    command: iproute(s, "bridge", `fdb show dev ${vx.name} | grep -i ${innerMac}`),
  });

  // The outer packet: routed in the host netns to the VTEP over the underlay.
  const under = lookupRoute(s, { dst: vtep });
  const underRoute = under.kind === "route" && under.route.type === "unicast" ? under.route : undefined;
  const underDev = (underRoute ? routeOutDev(underRoute) : undefined) ?? vx.vxlan.underlayDev;
  const underLink = underDev ? s.links.find((l) => l.name === underDev) : undefined;
  const outerSrc =
    vx.vxlan.local ??
    underRoute?.prefsrc ??
    s.addresses.find((a) => a.ifname === underDev && a.family === 4)?.local ??
    "?";
  const outer = {
    src: outerSrc,
    dst: vtep,
    protocol: "udp" as const,
    dport,
    ...(vni !== undefined ? { vni } : {}),
  };
  ctx.b.hop(view, {
    layer: "tunnel",
    primitive: "vxlan",
    device: vx.name,
    action: "encap",
    summary: `encapsulated by ${vx.name}: VXLAN VNI ${vni ?? "external"}, outer ${outerSrc} → ${vtep} udp/${dport}`,
    evidence: [ev.link(vx)],
    command: iproute(s, "ip", `-d link show ${vx.name}`),
    outer,
  });
  checkTunnelMtu(ctx, view, vx, underLink, e.sourceMtu);
  if (!underRoute || !underLink) {
    ctx.b.drop(
      view,
      {
        layer: "underlay",
        primitive: "route",
        action: "drop",
        summary: `no underlay route to the remote VTEP ${vtep}`,
        evidence: under.kind === "route" ? [ev.route(under.route)] : [],
        command: iproute(s, "ip", `route get ${vtep}`),
      },
      {
        code: "NO_ROUTE",
        severity: "error",
        message: `${view.node} has no underlay route to the VTEP ${vtep}`,
        evidence: [ev.fdb(fdb)],
      },
      `no route to VTEP ${vtep} on ${view.node}`,
    );
  }
  ctx.b.hop(view, {
    layer: "underlay",
    primitive: "route",
    device: underLink.name,
    action: "transmit",
    summary: `outer packet to ${vtep} leaves ${view.node} on ${underLink.name}${underRoute.gateway ? ` via ${underRoute.gateway}` : ""}`,
    evidence: [ev.route(underRoute), ev.link(underLink)],
    command: iproute(s, "ip", `route get ${vtep}`),
  });
  checkLinkUp(ctx, view, underLink, "transmit");

  const remote = ctx.world.hostWithAddress(vtep);
  if (!remote) {
    ctx.b.stop("Unknown", `the VTEP ${vtep} belongs to no captured node`, [
      `a snapshot of the node with address ${vtep}`,
    ]);
  }
  const rs = remote.view.state;
  const rlink = rs.links.find((l) => l.name === remote.address.ifname);
  if (rlink) checkLinkUp(ctx, remote.view, rlink, "receive");
  const rvx = rs.links.find(
    (l): l is VxlanLink =>
      l.kind === "vxlan" &&
      l.vxlan.dstport === dport &&
      (l.vxlan.external || l.vxlan.vni === vni) &&
      (l.vxlan.local === undefined || sameAddress(l.vxlan.local, vtep)),
  );
  if (!rvx) {
    ctx.b.hop(remote.view, {
      layer: "tunnel",
      primitive: "vxlan",
      action: "drop",
      summary: `no VXLAN device on ${remote.view.node} listens on udp/${dport} for VNI ${vni ?? "?"}`,
      evidence: [ev.address(remote.address)],
      command: iproute(rs, "ip", "-d link show type vxlan"),
    });
    ctx.b.stop("Dropped", `no VXLAN device for VNI ${vni ?? "?"} udp/${dport} on ${remote.view.node}`);
  }
  if (!sameMac(rvx.mac, innerMac)) {
    ctx.b.drop(
      remote.view,
      {
        layer: "tunnel",
        primitive: "vxlan",
        device: rvx.name,
        action: "drop",
        summary: `inner frame is for ${innerMac}, but ${rvx.name} on ${remote.view.node} has MAC ${rvx.mac ?? "?"}: not for this host`,
        evidence: [ev.link(rvx), ev.neighbour(neighbour)],
        command: iproute(rs, "ip", `link show ${rvx.name}`),
      },
      {
        code: "NO_NEIGHBOUR",
        severity: "error",
        device: vx.name,
        message: `stale neighbour on ${view.node}: ${nextHop} → ${innerMac}, but the remote ${rvx.name} has MAC ${rvx.mac ?? "?"}`,
        evidence: [ev.neighbour(neighbour), ev.link(rvx)],
        view: view,
      },
      `VTEP MAC mismatch for ${nextHop}`,
    );
  }
  checkLinkUp(ctx, remote.view, rvx, "receive");
  ctx.b.hop(remote.view, {
    layer: "tunnel",
    primitive: "vxlan",
    device: rvx.name,
    action: "decap",
    summary: `${remote.view.node} receives udp/${dport} on ${rlink?.name ?? remote.address.ifname} (${vtep}); ${rvx.name} decapsulates VNI ${vni ?? "external"}`,
    evidence: [ev.address(remote.address), ev.link(rvx)],
    command: iproute(rs, "ip", `-s -d link show ${rvx.name}`),
    packet,
  });
  return {
    view: remote.view,
    packet,
    inDev: rvx.name,
    mark: 0,
    dnat: e.dnat,
    ...(e.sourceMtu ? { sourceMtu: e.sourceMtu } : {}),
  };
}

/**
 * The largest inner packet that fits: the underlay MTU minus the encapsulation overhead, and no more
 * than the tunnel device's own MTU. A pod that may send bigger packets loses them (DF set) or
 * fragments them.
 */
function checkTunnelMtu(
  ctx: WalkContext,
  view: NetnsView,
  vx: VxlanLink,
  underLink: Link | undefined,
  sourceMtu: number | undefined,
): void {
  if (sourceMtu === undefined) return;
  const fromUnderlay = underLink ? underLink.mtu - VXLAN_OVERHEAD_IPV4 : Number.POSITIVE_INFINITY;
  const allowed = Math.min(fromUnderlay, vx.mtu);
  if (sourceMtu <= allowed) return;
  const why =
    allowed === vx.mtu && vx.mtu <= fromUnderlay
      ? `${vx.name} MTU ${vx.mtu}`
      : `${underLink?.name ?? "underlay"} MTU ${underLink?.mtu ?? "?"} − ${VXLAN_OVERHEAD_IPV4} bytes of VXLAN overhead = ${fromUnderlay}`;
  ctx.b.finding(view, {
    code: "MTU_EXCEEDS_TUNNEL",
    severity: "error",
    device: vx.name,
    message: `the source pod's MTU is ${sourceMtu}, but at most ${allowed} fits through ${vx.name} (${why}): full-size packets with DF set are dropped (ICMP fragmentation needed), large TCP segments stall`,
    evidence: [ev.link(vx), ...(underLink ? [ev.link(underLink)] : [])],
  });
}

/** A routed hop to the next node over an underlay device (host-gw, or the node's own default route). */
function viaUnderlay(ctx: WalkContext, e: Egress): Cursor {
  const { view, link, packet, nextHop } = e;
  const { mac, neighbour } = resolveNextHopMac(ctx, view, link.name, nextHop);
  ctx.b.hop(view, {
    layer: "underlay",
    primitive: "device",
    device: link.name,
    action: "transmit",
    summary: `out of ${link.name} to next hop ${nextHop}${mac ? ` at ${mac}` : ""}`,
    evidence: [ev.link(link), ...(neighbour ? [ev.neighbour(neighbour)] : [])],
    command: iproute(view.state, "ip", `neigh show dev ${link.name} to ${nextHop}`),
  });
  const owner = ctx.world.hostWithAddress(nextHop) ?? ctx.world.netnsWithAddress(nextHop);
  if (!owner) {
    ctx.b.stop("Unknown", `the next hop ${nextHop} belongs to no captured node`, [
      `a snapshot of the node with address ${nextHop}`,
    ]);
  }
  const rlink = owner.view.state.links.find((l) => l.name === owner.address.ifname);
  if (!rlink)
    ctx.b.stop("Unknown", `device ${owner.address.ifname} on ${owner.view.node} is not captured`, [
      `link ${owner.address.ifname}`,
    ]);
  checkLinkUp(ctx, owner.view, rlink, "receive");
  ctx.b.hop(owner.view, {
    layer: "underlay",
    primitive: "device",
    device: rlink.name,
    action: "receive",
    summary: `${owner.view.node} receives the packet on ${rlink.name} (${owner.address.local})`,
    evidence: [ev.address(owner.address)],
    command: iproute(owner.view.state, "ip", `-s link show ${rlink.name}`),
  });
  return {
    view: owner.view,
    packet,
    inDev: rlink.name,
    mark: 0,
    dnat: e.dnat,
    ...(e.sourceMtu ? { sourceMtu: e.sourceMtu } : {}),
  };
}

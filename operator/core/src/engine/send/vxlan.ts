/**
 * Sending through a UDP tunnel device. VXLAN (flannel.1): the neighbour entry gives the inner MAC of
 * the remote VTEP, the FDB maps that MAC to the remote VTEP's address. Geneve: its fixed remote. The
 * encapsulated packet is routed on the underlay and the walk ends with a departure: the remote node
 * decapsulates (receive/wire.ts).
 */
import type { FdbEntry } from "../../model/fdb.js";
import type { GeneveLink, Link, TunnelInfo, VxlanLink } from "../../model/link.js";
import { isNeighbourUsable } from "../../model/neigh.js";
import type { Evidence, OuterHeader } from "../../model/trace.js";
import { iproute } from "../commands.js";
import type { Next, WalkContext } from "../context.js";
import { routeOutDev } from "../describe.js";
import { ev } from "../evidence.js";
import { sameAddress } from "../ip.js";
import { lookupRoute } from "../routing.js";
import type { NetnsView } from "../world.js";
import { checkLinkUp, resolveNextHopMac, sameMac } from "./link.js";
import type { Egress } from "./types.js";

/**
 * Bytes a UDP tunnel adds on an IPv4 underlay: outer IPv4 20 + UDP 8 + VXLAN or Geneve header 8
 * (Geneve without options) + inner Ethernet 14.
 */
export const VXLAN_OVERHEAD_IPV4 = 50;
const ZERO_MAC = "00:00:00:00:00:00";

export function viaVxlan(ctx: WalkContext, e: Egress, vx: VxlanLink): Next {
  const { view, nextHop } = e;
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

  return encapsulate(ctx, e, vx, vx.vxlan, { vtep, vni, dport, innerMac }, [ev.fdb(fdb)]);
}

/** Where a UDP tunnel sends the inner frame: the remote VTEP, the VNI, the port, the inner MAC. */
interface TunnelTarget {
  vtep: string;
  vni: number | undefined;
  dport: number;
  innerMac?: string;
}

/**
 * The encapsulated packet: the outer header from the tunnel device, routed in the host netns to the
 * VTEP over the underlay; the walk ends with the departure to the node that owns the VTEP.
 */
export function encapsulate(
  ctx: WalkContext,
  e: Egress,
  dev: VxlanLink | GeneveLink,
  tunnel: TunnelInfo,
  to: TunnelTarget,
  whyVtep: Evidence[],
): Next {
  const { view, packet } = e;
  const s = view.state;
  const { vtep, vni, dport } = to;
  const under = lookupRoute(s, { dst: vtep });
  const underRoute = under.kind === "route" && under.route.type === "unicast" ? under.route : undefined;
  const underDev = (underRoute ? routeOutDev(underRoute) : undefined) ?? tunnel.underlayDev;
  const underLink = underDev ? s.links.find((l) => l.name === underDev) : undefined;
  const outerSrc =
    tunnel.local ??
    underRoute?.prefsrc ??
    s.addresses.find((a) => a.ifname === underDev && a.family === 4)?.local ??
    "?";
  const outer: OuterHeader = {
    src: outerSrc,
    dst: vtep,
    protocol: "udp",
    dport,
    ...(vni !== undefined ? { vni } : {}),
  };
  const kindName = dev.kind === "vxlan" ? "VXLAN" : "Geneve";
  ctx.b.hop(view, {
    layer: "tunnel",
    primitive: dev.kind,
    device: dev.name,
    action: "encap",
    summary: `encapsulated by ${dev.name}: ${kindName} VNI ${vni ?? "external"}, outer ${outerSrc} → ${vtep} udp/${dport}`,
    evidence: [ev.link(dev)],
    command: iproute(s, "ip", `-d link show ${dev.name}`),
    outer,
  });
  checkTunnelMtu(ctx, view, dev, underLink, e.sourceMtu);
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
        evidence: whyVtep,
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
  const node = ctx.world.nodeWithAddress(vtep);
  return {
    kind: "departure",
    departure: {
      frame: {
        packet,
        outer,
        to: vtep,
        ...(to.innerMac !== undefined ? { dstMac: to.innerMac } : {}),
        ...(e.sourceMtu !== undefined ? { size: e.sourceMtu } : {}),
      },
      device: underLink.name,
      ...(node !== undefined ? { node } : {}),
    },
  };
}

/**
 * A Geneve device: with a fixed `remote`, every frame goes there (VNI `id`); in collect-metadata
 * (`external`) mode the remote and VNI are set per packet by whatever drives the device (Open
 * vSwitch for OVN-Kubernetes and Antrea, eBPF for Cilium), which the kernel's state does not show.
 */
export function viaGeneve(ctx: WalkContext, e: Egress, gv: GeneveLink): Next {
  const { view, packet, nextHop } = e;
  const g = gv.geneve;
  if (g.external || g.remote === undefined) {
    ctx.b.hop(view, {
      layer: "tunnel",
      primitive: "geneve",
      device: gv.name,
      action: "lookup",
      summary: `${gv.name} is a Geneve device in collect-metadata mode (external, udp/${g.dstport}): the remote VTEP and VNI are set per packet by the datapath that drives it`,
      evidence: [ev.link(gv)],
      command: iproute(view.state, "ip", `-d link show ${gv.name}`),
    });
    ctx.b.stop(
      "Unknown",
      `${gv.name} picks its remote VTEP per packet (Geneve external mode), which the kernel's state does not show`,
      [
        `the datapath's choice of VTEP for ${packet.dst} (OVS: ovs-appctl ofproto/trace; eBPF: its tunnel map) on ${view.node}`,
      ],
    );
  }
  const { mac } = resolveNextHopMac(ctx, view, gv.name, nextHop);
  return encapsulate(
    ctx,
    e,
    gv,
    g,
    { vtep: g.remote, vni: g.vni, dport: g.dstport, ...(mac !== undefined ? { innerMac: mac } : {}) },
    [ev.link(gv)],
  );
}

/**
 * The largest inner packet that fits: the underlay MTU minus the encapsulation overhead, and no more
 * than the tunnel device's own MTU. A pod that may send bigger packets loses them (DF set) or
 * fragments them.
 */
function checkTunnelMtu(
  ctx: WalkContext,
  view: NetnsView,
  vx: VxlanLink | GeneveLink,
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

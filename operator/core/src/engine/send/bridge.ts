/**
 * A Linux bridge (cni0): a frame enters through a port and either goes up to the host's IP stack (it
 * is for the bridge's own MAC) or is bridged to another port through the FDB. Bridged IPv4 frames meet
 * netfilter only through br_netfilter (bridge-nf-call-iptables): PREROUTING, the FDB lookup, FORWARD,
 * POSTROUTING, in one pass with one conntrack entry. The host can also route out of the bridge device
 * itself (ARP gives the MAC, the FDB the port).
 */
import type { BridgeLink, Link } from "../../model/link.js";
import { sysctlNumber } from "../../model/sysctl.js";
import type { Evidence, Packet } from "../../model/trace.js";
import { iproute } from "../commands.js";
import { endpointOf, formatEntry } from "../conntrack.js";
import type { Next, WalkContext } from "../context.js";
import { ev } from "../evidence.js";
import { sameAddress } from "../ip.js";
import { NetfilterPass } from "../netns/pass.js";
import { type LinkRef, type NetnsView, where } from "../world.js";
import { checkLinkUp, receiveOnVeth, resolveNextHopMac, sameMac } from "./link.js";
import type { Egress } from "./types.js";

const BR_NF_KEY = "net.bridge.bridge-nf-call-iptables";

/** br_netfilter passes bridged IPv4 frames through iptables when the sysctl (or the bridge's own switch) says so. */
function bridgeNetfilterOn(view: NetnsView, bridge: BridgeLink): boolean | undefined {
  if (bridge.bridge.nfCallIptables === true) return true;
  const v = sysctlNumber(view.state.sysctls, BR_NF_KEY);
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

/**
 * A frame bridged without br_netfilter never meets netfilter or conntrack. On the request, that means
 * kube-proxy's rules do not see pod-to-pod traffic on the bridge; on a reply, it means the NAT the
 * request got in this netns is never undone.
 */
function bridgedWithoutNetfilter(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  packet: Packet,
): void {
  const value = view.state.sysctls[BR_NF_KEY];
  const sysctl = ev.sysctl(BR_NF_KEY, value);
  const setting = `${BR_NF_KEY} is ${value ?? "not set (br_netfilter not loaded?)"} on ${view.node}`;
  if (ctx.direction === "reply") {
    const entry = ctx.conntrack.match(view.state.netns, packet);
    if (!entry || !(entry.dnat || entry.snat)) return;
    const undone = entry.dnat
      ? `its source stays ${endpointOf(packet, "src")} instead of ${endpointOf(entry.original, "dst")}`
      : `its destination stays ${endpointOf(packet, "dst")} instead of ${endpointOf(entry.original, "src")}`;
    ctx.b.finding(view, {
      code: "BR_NETFILTER_OFF",
      severity: "error",
      device: bridge.name,
      message: `${setting}: the reply is bridged on ${bridge.name} around the conntrack entry that ${entry.dnat ? "DNATed" : "SNATed"} the request at hop ${entry.hop}, so that NAT is never undone and ${undone}; the client drops it (fix: modprobe br_netfilter; sysctl -w ${BR_NF_KEY}=1)`,
      evidence: [
        sysctl,
        ev.link(bridge),
        { source: `conntrack entry of the request (hop ${entry.hop})`, text: formatEntry(entry) },
      ],
    });
    return;
  }
  if (!hasKubeProxyRules(view)) return;
  ctx.b.finding(view, {
    code: "BR_NETFILTER_OFF",
    severity: "warning",
    device: bridge.name,
    message: `${setting}: frames bridged on ${bridge.name} bypass kube-proxy's iptables rules (Service replies between pods on this bridge are not un-NATed)`,
    evidence: [sysctl, ev.link(bridge)],
  });
}

/** A frame enters a bridge through a port: up to the host stack when addressed to the bridge, else bridged. */
export function bridgeIngress(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  port: Link,
  dstMac: string | undefined,
  packet: Packet,
  sourceMtu: number | undefined,
): Next {
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
  const mtu = sourceMtu !== undefined ? { sourceMtu } : {};
  if (toBridge)
    return { kind: "netns", cursor: { view, packet, inDev: bridge.name, physInDev: port.name, ...mtu } };

  // Bridged between two ports: netfilter sees the frame only through br_netfilter.
  const pass = bridgeNetfilterOn(view, bridge) ? new NetfilterPass(ctx, view, packet) : undefined;
  if (pass) pass.run("prerouting", { inDev: bridge.name, physInDev: port.name });
  else bridgedWithoutNetfilter(ctx, view, bridge, packet);
  const out = bridgeForward(ctx, view, bridge, dstMac as string, pass?.packet ?? packet, port);
  if (pass) {
    const devs = { inDev: bridge.name, outDev: bridge.name, physOutDev: out.name };
    pass.run("forward", { ...devs, physInDev: port.name });
    pass.run("postrouting", devs);
    pass.finish();
  }
  return toPortPeer(ctx, view, bridge, out, pass?.packet ?? packet, sourceMtu);
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
  const detached = port ? undefined : detachedVeth(ctx, view, bridge, packet.dst);
  ctx.b.hop(view, {
    layer: "l2",
    primitive: "fdb",
    device: bridge.name,
    action: detached ? "drop" : "forward",
    summary,
    evidence,
    command: iproute(
      view.state,
      "bridge",
      `fdb show br ${bridge.name}${dstMac ? ` | grep -i ${dstMac}` : ""}`,
    ),
  });
  if (!port) {
    if (detached) stopDetached(ctx, view, bridge, packet.dst, detached);
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

/**
 * The netns of this node that holds `ip`, when its host-side veth is not a port of `bridge`
 * (`nomaster`, or enslaved elsewhere): the wiring is broken, nothing on the bridge answers for it.
 */
function detachedVeth(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  ip: string,
): LinkRef | undefined {
  const owner = ctx.world.netnsWithAddress(ip);
  const ownerLink = owner?.view.state.links.find((l) => l.name === owner.address.ifname);
  const hostSide = owner && ownerLink ? ctx.world.vethPeer({ view: owner.view, link: ownerLink }) : undefined;
  if (!hostSide || hostSide.view !== view || hostSide.link.master === bridge.name) return undefined;
  return hostSide;
}

function stopDetached(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  ip: string,
  hostSide: LinkRef,
): never {
  const veth = hostSide.link;
  const now = veth.master ? `a port of ${veth.master}` : "a port of no bridge (nomaster)";
  ctx.b.finding(view, {
    code: "VETH_NOT_IN_BRIDGE",
    severity: "error",
    device: veth.name,
    message: `${ip} is behind ${veth.name}, but ${veth.name} is ${now}, not of ${bridge.name}: nothing on ${bridge.name} answers ARP for ${ip} (fix: ${iproute(view.state, "ip", `link set ${veth.name} master ${bridge.name}`)})`,
    evidence: [ev.link(veth), ev.link(bridge)],
  });
  ctx.b.stop("Dropped", `no port of ${bridge.name} leads to ${ip}: ${veth.name} is not in the bridge`);
}

/** The port's veth peer is a pod's eth0: the packet arrives in the pod netns. */
function toPortPeer(
  ctx: WalkContext,
  view: NetnsView,
  bridge: BridgeLink,
  port: Link,
  packet: Packet,
  sourceMtu: number | undefined,
): Next {
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
  receiveOnVeth(ctx, peer, `into ${peer.link.name} of ${where(peer.view)}`);
  const mtu = sourceMtu !== undefined ? { sourceMtu } : {};
  return { kind: "netns", cursor: { view: peer.view, packet, inDev: peer.link.name, ...mtu } };
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
export function viaBridge(ctx: WalkContext, e: Egress, bridge: BridgeLink): Next {
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
  if (!mac) {
    const detached = detachedVeth(ctx, view, bridge, e.nextHop);
    if (detached) stopDetached(ctx, view, bridge, e.nextHop, detached);
    ctx.b.stop("Unknown", `nothing captured answers for ${e.nextHop} behind ${bridge.name}`, [
      `the pod netns holding ${e.nextHop}`,
    ]);
  }
  const port = bridgeForward(ctx, view, bridge, mac, packet);
  return toPortPeer(ctx, view, bridge, port, packet, e.sourceMtu);
}

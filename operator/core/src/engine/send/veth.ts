/** Out of a veth: the frame appears on its peer, in the peer's netns (or on the peer's bridge). */
import { iproute } from "../commands.js";
import type { Next, WalkContext } from "../context.js";
import { ev } from "../evidence.js";
import { bridgeIngress } from "./bridge.js";
import { receiveOnVeth, resolveNextHopMac } from "./link.js";
import type { Egress } from "./types.js";

export function viaVeth(ctx: WalkContext, e: Egress): Next {
  const { view, link, packet } = e;
  const peer = ctx.world.vethPeer({ view, link });
  const { mac, neighbour } = resolveNextHopMac(ctx, view, link.name, e.nextHop, peer);
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
  receiveOnVeth(
    ctx,
    peer,
    `into ${peer.link.name} (veth peer of ${link.name})${peer.link.master ? `, a port of ${peer.link.master}` : ""}`,
  );
  const sourceMtu = e.sourceMtu !== undefined ? { sourceMtu: e.sourceMtu } : {};
  if (peer.link.master) {
    const master = peer.view.state.links.find((l) => l.name === peer.link.master);
    if (master?.kind === "bridge")
      return bridgeIngress(ctx, peer.view, master, peer.link, mac, packet, e.sourceMtu);
    // An enslaved port hands its frames to its master, never to the netns' own IP stack: a bond or
    // team receives them as itself; Open vSwitch and VRFs decide by tables netmap does not read.
    if (master && (master.infoKind === "bond" || master.infoKind === "team")) {
      return { kind: "netns", cursor: { view: peer.view, packet, inDev: master.name, ...sourceMtu } };
    }
    const ovs = master?.infoKind === "openvswitch" || peer.link.master === "ovs-system";
    ctx.b.stop(
      "Unknown",
      ovs
        ? `${peer.link.name} is a port of Open vSwitch (${peer.link.master}): the packet follows OVS's OpenFlow tables, which netmap does not read`
        : `${peer.link.name} is enslaved to ${peer.link.master}${master?.infoKind ? ` (${master.infoKind})` : ""}, which netmap does not model`,
      [
        ovs
          ? `the OpenFlow path of ${packet.src} → ${packet.dst} (ovs-appctl ofproto/trace on ${peer.view.node})`
          : `a model of ${master?.infoKind ?? "the master device"} ${peer.link.master}`,
      ],
    );
  }
  return { kind: "netns", cursor: { view: peer.view, packet, inDev: peer.link.name, ...sourceMtu } };
}

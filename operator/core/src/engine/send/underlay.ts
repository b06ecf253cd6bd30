/**
 * A routed hop to the next node over an underlay device (host-gw, the node's own default route, or a
 * node's uplink veth as on kind): the walk ends with a departure to the owner of the next hop.
 */
import { iproute } from "../commands.js";
import type { Next, WalkContext } from "../context.js";
import { ev } from "../evidence.js";
import { resolveNextHopMac } from "./link.js";
import type { Egress } from "./types.js";

export function viaUnderlay(ctx: WalkContext, e: Egress): Next {
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
  const node = ctx.world.nodeWithAddress(nextHop);
  return {
    kind: "departure",
    departure: {
      frame: {
        packet,
        to: nextHop,
        ...(mac !== undefined ? { dstMac: mac } : {}),
        ...(e.sourceMtu !== undefined ? { size: e.sourceMtu } : {}),
      },
      device: link.name,
      ...(node !== undefined ? { node } : {}),
    },
  };
}

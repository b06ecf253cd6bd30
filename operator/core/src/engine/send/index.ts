/**
 * How a packet leaves a netns, by the kind of the output device: a veth to its peer, a bridge to a
 * port through the FDB, a VXLAN device to a remote VTEP, or an underlay device to the next node. Each
 * returns where the packet arrives on this node, or the departure that takes it to the next node.
 */
import type { Next, WalkContext } from "../context.js";
import { viaBridge } from "./bridge.js";
import { checkLinkUp } from "./link.js";
import type { Egress } from "./types.js";
import { viaUnderlay } from "./underlay.js";
import { viaVeth } from "./veth.js";
import { viaGeneve, viaVxlan } from "./vxlan.js";

export type { Egress } from "./types.js";

export function transmit(ctx: WalkContext, e: Egress): Next {
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
    case "geneve":
      return viaGeneve(ctx, e, e.link);
    default:
      return viaUnderlay(ctx, e);
  }
}

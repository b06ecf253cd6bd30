/**
 * A frame from the wire arrives at a node: on the device of the host netns that holds the address it
 * was sent to (or the device named), and, when it is encapsulated, into the VXLAN device listening on
 * its UDP port and VNI, which decapsulates it if the inner frame is for its MAC.
 */
import type { Address } from "../../model/addr.js";
import type { GeneveLink, VxlanLink } from "../../model/link.js";
import type { WireFrame } from "../../model/walk.js";
import { iproute } from "../commands.js";
import type { Cursor, WalkContext } from "../context.js";
import { ev } from "../evidence.js";
import { sameAddress } from "../ip.js";
import { checkLinkUp, sameMac } from "../send/link.js";

export function receiveFromWire(ctx: WalkContext, frame: WireFrame, device?: string): Cursor {
  const host = ctx.world.host;
  const s = host.state;
  const address: Address | undefined = ctx.world.hostAddress(frame.to);
  const devName = device ?? address?.ifname;
  if (!devName) {
    ctx.b.stop(
      "Unknown",
      `${ctx.world.name} has no device with the address ${frame.to} the frame was sent to`,
      [`the device of ${ctx.world.name} that holds ${frame.to}`],
    );
  }
  const rlink = s.links.find((l) => l.name === devName);
  if (!rlink) {
    ctx.b.stop("Unknown", `device ${devName} on ${ctx.world.name} is not captured`, [`link ${devName}`]);
  }
  const mtu = frame.size !== undefined ? { sourceMtu: frame.size } : {};
  const outer = frame.outer;
  if (!outer) {
    checkLinkUp(ctx, host, rlink, "receive");
    ctx.b.hop(host, {
      layer: "underlay",
      primitive: "device",
      device: rlink.name,
      action: "receive",
      summary: `${ctx.world.name} receives the packet on ${rlink.name}${address ? ` (${address.local})` : ""}`,
      evidence: address ? [ev.address(address)] : [ev.link(rlink)],
      command: iproute(s, "ip", `-s link show ${rlink.name}`),
    });
    return { view: host, packet: frame.packet, inDev: rlink.name, ...mtu };
  }

  checkLinkUp(ctx, host, rlink, "receive");
  // The UDP tunnel device bound to the frame's port and VNI (VXLAN or Geneve; external ones take any VNI).
  const rvx = s.links.find((l): l is VxlanLink | GeneveLink => {
    const t = l.kind === "vxlan" ? l.vxlan : l.kind === "geneve" ? l.geneve : undefined;
    return (
      t !== undefined &&
      t.dstport === outer.dport &&
      (t.external || t.vni === outer.vni) &&
      (t.local === undefined || sameAddress(t.local, outer.dst))
    );
  });
  const at = address ? [ev.address(address)] : [ev.link(rlink)];
  if (!rvx) {
    ctx.b.hop(host, {
      layer: "tunnel",
      primitive: "vxlan",
      action: "drop",
      summary: `no VXLAN or Geneve device on ${ctx.world.name} listens on udp/${outer.dport ?? "?"} for VNI ${outer.vni ?? "?"}`,
      evidence: at,
      command: iproute(s, "ip", "-d link show type vxlan"),
    });
    ctx.b.stop(
      "Dropped",
      `no VXLAN device for VNI ${outer.vni ?? "?"} udp/${outer.dport ?? "?"} on ${ctx.world.name}`,
    );
  }
  if (frame.dstMac !== undefined && !sameMac(rvx.mac, frame.dstMac)) {
    ctx.b.drop(
      host,
      {
        layer: "tunnel",
        primitive: rvx.kind,
        device: rvx.name,
        action: "drop",
        summary: `inner frame is for ${frame.dstMac}, but ${rvx.name} on ${ctx.world.name} has MAC ${rvx.mac ?? "?"}: not for this host`,
        evidence: [ev.link(rvx)],
        command: iproute(s, "ip", `link show ${rvx.name}`),
      },
      {
        code: "NO_NEIGHBOUR",
        severity: "error",
        device: rvx.name,
        message: `stale neighbour on the sending node: its entry for ${ctx.world.name}'s VTEP gives MAC ${frame.dstMac}, but ${rvx.name} here has MAC ${rvx.mac ?? "?"}`,
        evidence: [ev.link(rvx)],
      },
      `VTEP MAC mismatch on ${ctx.world.name}: the inner frame is for ${frame.dstMac}`,
    );
  }
  checkLinkUp(ctx, host, rvx, "receive");
  ctx.b.hop(host, {
    layer: "tunnel",
    primitive: rvx.kind,
    device: rvx.name,
    action: "decap",
    summary: `${ctx.world.name} receives udp/${outer.dport ?? "?"} on ${rlink.name} (${outer.dst}); ${rvx.name} decapsulates VNI ${outer.vni ?? "external"}`,
    evidence: [...at, ev.link(rvx)],
    command: iproute(s, "ip", `-s -d link show ${rvx.name}`),
    packet: frame.packet,
  });
  return { view: host, packet: frame.packet, inDev: rvx.name, ...mtu };
}

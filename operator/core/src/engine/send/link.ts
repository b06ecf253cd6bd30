/** What every transmission checks of a link, and how it finds the next hop's MAC. */
import type { Link } from "../../model/link.js";
import { isLinkUp } from "../../model/link.js";
import type { Neighbour } from "../../model/neigh.js";
import { isNeighbourUsable } from "../../model/neigh.js";
import { iproute } from "../commands.js";
import type { WalkContext } from "../context.js";
import { ev } from "../evidence.js";
import { sameAddress } from "../ip.js";
import { type LinkRef, type NetnsView, where } from "../world.js";

export function sameMac(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/**
 * A link that is not up ends the walk with LINK_DOWN. For a veth whose carrier is missing, the
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

/**
 * The MAC the next hop answers with: the captured neighbour entry, else the link of this node that
 * holds the address (the peer's side first, when the next hop is behind a veth).
 */
export function resolveNextHopMac(
  ctx: WalkContext,
  view: NetnsView,
  dev: string,
  ip: string,
  peer?: LinkRef,
): { mac?: string; neighbour?: Neighbour } {
  const neighbour = view.state.neighbours.find((n) => n.dev === dev && sameAddress(n.dst, ip));
  if (neighbour && isNeighbourUsable(neighbour) && neighbour.lladdr)
    return { mac: neighbour.lladdr, neighbour };
  if (peer?.view.state.addresses.some((a) => a.ifname === peer.link.name && sameAddress(a.local, ip)))
    return peer.link.mac ? { mac: peer.link.mac } : {};
  const owner = ctx.world.netnsWithAddress(ip);
  const mac = owner?.view.state.links.find((l) => l.name === owner.address.ifname)?.mac;
  return mac ? { mac } : {};
}

/** The frame comes out of a veth's other end: that end must be up to receive it. */
export function receiveOnVeth(ctx: WalkContext, peer: LinkRef, summary: string): void {
  checkLinkUp(ctx, peer.view, peer.link, "receive");
  ctx.b.hop(peer.view, {
    layer: "link",
    primitive: "veth",
    device: peer.link.name,
    action: "receive",
    summary,
    evidence: [ev.link(peer.link)],
    command: iproute(peer.view.state, "ip", `-s link show ${peer.link.name}`),
  });
}

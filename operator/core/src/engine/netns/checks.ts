/** Checks the kernel makes of a routed packet in a netns: forwarding on, reverse-path filtering. */
import { effectiveRpFilter, sysctlNumber } from "../../model/sysctl.js";
import type { Packet } from "../../model/trace.js";
import { iproute } from "../commands.js";
import type { WalkContext } from "../context.js";
import { routeOutDev } from "../describe.js";
import { ev } from "../evidence.js";
import { sameAddress } from "../ip.js";
import { lookupRoute } from "../routing.js";
import { type NetnsView, where } from "../world.js";

/** A netns only forwards what it routes when ip_forward is on. */
export function checkForwarding(ctx: WalkContext, view: NetnsView): void {
  const s = view.state;
  const key = "net.ipv4.ip_forward";
  const value = sysctlNumber(s.sysctls, key);
  if (value !== 0) return;
  ctx.b.finding(view, {
    code: "IP_FORWARD_DISABLED",
    severity: "error",
    message: `${key} = 0 on ${view.node}: it drops every packet it would have to route onwards`,
    evidence: [ev.sysctl(key, s.sysctls[key])],
  });
  ctx.b.stop("Dropped", `${where(view)} does not forward (${key} = 0)`);
}

/** Strict reverse-path filtering drops a packet whose source would not be routed back out of its input device. */
export function checkRpFilter(ctx: WalkContext, view: NetnsView, inDev: string, packet: Packet): void {
  const s = view.state;
  const mode = effectiveRpFilter(s.sysctls, inDev);
  if (mode !== 1) return;
  const back = lookupRoute(s, { dst: packet.src });
  const backDev = back.kind === "route" ? routeOutDev(back.route) : undefined;
  if (backDev === inDev || (back.kind === "route" && back.route.type === "local")) return;
  const keys = ["net.ipv4.conf.all.rp_filter", `net.ipv4.conf.${inDev}.rp_filter`];
  const evidence = [
    ...keys.map((k) => ev.sysctl(k, s.sysctls[k])),
    ...(back.kind === "route" ? [ev.route(back.route)] : []),
  ];
  ctx.b.drop(
    view,
    {
      layer: "l3",
      primitive: "sysctl",
      device: inDev,
      action: "drop",
      summary: `strict rp_filter on ${inDev}: the route back to ${packet.src} leaves via ${backDev ?? "nowhere"}, not ${inDev}`,
      evidence,
      command: iproute(s, "ip", `route get ${packet.src}`),
    },
    {
      code: "RP_FILTER_STRICT",
      severity: "error",
      device: inDev,
      message: `rp_filter=1 (strict) on ${inDev} of ${view.node} drops packets from ${packet.src}: the path is asymmetric (replies would leave via ${backDev ?? "no route"})`,
      evidence,
    },
    `strict rp_filter on ${inDev} in ${where(view)}`,
  );
}

/**
 * fib_validate_source: a packet that arrives on a device (other than lo) from one of this netns's own
 * addresses is a martian source and is dropped, unless net.ipv4.conf.{all,<dev>}.accept_local is 1.
 * It happens when a node's own masqueraded traffic is forwarded back to it.
 */
export function checkMartianSource(ctx: WalkContext, view: NetnsView, inDev: string, packet: Packet): void {
  if (inDev === "lo") return;
  const s = view.state;
  const own = s.addresses.find((a) => sameAddress(a.local, packet.src));
  if (!own) return;
  const keys = ["net.ipv4.conf.all.accept_local", `net.ipv4.conf.${inDev}.accept_local`];
  if (keys.some((k) => sysctlNumber(s.sysctls, k) === 1)) return;
  const evidence = [ev.address(own), ...keys.map((k) => ev.sysctl(k, s.sysctls[k]))];
  ctx.b.drop(
    view,
    {
      layer: "l3",
      primitive: "route",
      device: inDev,
      action: "drop",
      summary: `${packet.src}, the source, is an address of ${own.ifname} here: a packet from this netns's own address arriving on ${inDev} is a martian source, and the kernel drops it`,
      evidence,
      command: iproute(s, "ip", `route get ${packet.dst} from ${packet.src} iif ${inDev}`),
    },
    {
      code: "MARTIAN_SOURCE",
      severity: "error",
      device: inDev,
      message: `${where(view)} drops packets arriving on ${inDev} from its own address ${packet.src} (martian source; accept_local = 0): something sent its own traffic back to it, often a MASQUERADE to this node's address followed by a forward that returns here`,
      evidence,
    },
    `martian source ${packet.src} on ${inDev} in ${where(view)}`,
  );
}

/** Checks the kernel makes of a routed packet in a netns: forwarding on, reverse-path filtering. */
import { effectiveRpFilter, sysctlNumber } from "../../model/sysctl.js";
import type { Packet } from "../../model/trace.js";
import { iproute } from "../commands.js";
import type { WalkContext } from "../context.js";
import { routeOutDev } from "../describe.js";
import { ev } from "../evidence.js";
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

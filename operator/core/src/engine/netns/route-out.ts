/**
 * The routed tail, written once: after the FIB picked a unicast route, the route hop, FORWARD (for a
 * forwarded packet) or IPVS's LOCAL_OUT, POSTROUTING, and the output device.
 */
import type { PolicyRule, Route } from "../../model/route.js";
import type { Evidence } from "../../model/trace.js";
import type { Cursor, Next, WalkContext } from "../context.js";
import { describeRoute, routeOutDev } from "../describe.js";
import { transmit } from "../send/index.js";
import { checkForwarding } from "./checks.js";
import type { NetfilterPass } from "./pass.js";

export interface RoutedPacket {
  route: Route;
  rule?: PolicyRule;
  evidence: Evidence[];
  /** `ip route get …` in the netns. */
  command: string;
  /**
   * How the packet reached the route: forwarded (received on a device: FORWARD runs), sent by a local
   * socket (OUTPUT already ran), or transmitted by IPVS to a real server (LOCAL_OUT without nat).
   */
  origin: "forwarded" | "local" | "ipvs";
}

export function routeOut(ctx: WalkContext, pass: NetfilterPass, c: Cursor, r: RoutedPacket): Next {
  const { view } = c;
  const { route } = r;
  const outDev = routeOutDev(route);
  const nextHop = route.gateway ?? route.nexthops?.[0]?.gateway ?? pass.packet.dst;
  const described = describeRoute(route, pass.packet.dst);
  ctx.b.hop(view, {
    layer: "l3",
    primitive: "route",
    ...(outDev ? { device: outDev } : {}),
    action: "lookup",
    summary: r.origin === "ipvs" ? `IPVS routes to the real server: ${described}` : described,
    evidence: r.evidence,
    command: r.command,
  });
  if (!outDev)
    ctx.b.stop("Unknown", `route ${route.dst} names no output device`, [`the device of route ${route.dst}`]);

  const devs = { ...(c.inDev ? { inDev: c.inDev } : {}), outDev };
  if (r.origin === "forwarded") {
    checkForwarding(ctx, view);
    pass.run("forward", { ...devs, ...(c.physInDev ? { physInDev: c.physInDev } : {}) });
  } else if (r.origin === "ipvs") {
    // LOCAL_OUT as IPVS's transmit passes it: raw/mangle/filter OUTPUT run, nat OUTPUT does not (the
    // connection's destination NAT binding was made in PREROUTING, and a nat chain sees it once).
    pass.run("output", devs, { include: (chain) => chain.type !== "nat" });
  }
  pass.run("postrouting", devs, { route });
  pass.finish();

  const link = view.state.links.find((l) => l.name === outDev);
  if (!link)
    ctx.b.stop("Unknown", `device ${outDev} of the route is not in the captured links`, [
      `link ${outDev} on ${view.node}`,
    ]);
  const sourceMtu = c.sourceMtu ?? (view.kind === "pod" ? link.mtu : undefined);
  return transmit(ctx, {
    view,
    link,
    packet: pass.packet,
    nextHop,
    ...(sourceMtu !== undefined ? { sourceMtu } : {}),
  });
}

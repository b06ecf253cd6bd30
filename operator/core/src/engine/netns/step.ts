/**
 * The packet inside one network namespace, the way the kernel handles it: PREROUTING (or, for a
 * locally generated packet, the routing decision then OUTPUT, which may re-route after a DNAT), the
 * FIB lookup, then either local delivery (INPUT, or IPVS taking it in LOCAL_IN) or the routed tail
 * (FORWARD, POSTROUTING, out of a device). Returns where the packet goes next, or ends the walk.
 */

import type { Hop } from "../../model/trace.js";
import type { TraceBuilder } from "../builder.js";
import { iproute } from "../commands.js";
import { endpointOf, reversed, samePacket } from "../conntrack.js";
import type { Cursor, Next, WalkContext } from "../context.js";
import { routeOutDev } from "../describe.js";
import { ev } from "../evidence.js";
import { ipvsIntercept } from "../ipvs-hops.js";
import { lookupRoute } from "../routing.js";
import { where } from "../world.js";
import { checkMartianSource, checkRpFilter } from "./checks.js";
import { NetfilterPass } from "./pass.js";
import { routeOut } from "./route-out.js";

export function stepNetns(ctx: WalkContext, c: Cursor): Next {
  const b: TraceBuilder = ctx.b;
  const { view } = c;
  const s = view.state;
  const received = c.inDev !== undefined;
  const pass = new NetfilterPass(ctx, view, c.packet);

  if (received) {
    pass.run("prerouting", {
      ...(c.inDev !== undefined ? { inDev: c.inDev } : {}),
      ...(c.physInDev !== undefined ? { physInDev: c.physInDev } : {}),
    });
    checkMartianSource(ctx, view, c.inDev as string, pass.packet);
    checkRpFilter(ctx, view, c.inDev as string, pass.packet);
  }

  let decision = lookupRoute(s, {
    dst: pass.packet.dst,
    src: pass.packet.src,
    ...(c.inDev ? { iif: c.inDev } : {}),
    mark: pass.mark,
  });
  if (!received && decision.kind === "route") {
    // Locally generated: OUTPUT runs after the first routing decision; a DNAT there re-routes.
    const outDev = routeOutDev(decision.route);
    const before = pass.packet;
    pass.run("output", outDev ? { outDev } : {});
    if (pass.packet.dst !== before.dst)
      decision = lookupRoute(s, { dst: pass.packet.dst, src: pass.packet.src, mark: pass.mark });
  }
  const packet = pass.packet;
  const fibCmd = iproute(
    s,
    "ip",
    `route get ${packet.dst}${c.inDev ? ` from ${packet.src} iif ${c.inDev}` : ""}`,
  );
  if (decision.kind === "none") {
    b.drop(
      view,
      {
        layer: "l3",
        primitive: "route",
        action: "drop",
        summary: `no route to ${packet.dst} (looked up tables ${decision.triedTables.join(", ") || "none"})`,
        evidence: [],
        command: fibCmd,
      },
      {
        code: "NO_ROUTE",
        severity: "error",
        message: `${view.state.netns} on ${view.node} has no route to ${packet.dst}: the kernel answers "network unreachable"`,
        evidence: [],
      },
      `no route to ${packet.dst} in ${where(view)}`,
    );
  }

  const { route, rule } = decision;
  const evidence = [
    ev.route(route),
    ...(rule && rule.priority !== 32766 && rule.priority !== 0 ? [ev.rule(rule)] : []),
  ];
  if (route.type === "local") {
    if (received) pass.run("input", c.inDev ? { inDev: c.inDev } : {});
    // kube-proxy IPVS mode: a Service address bound on kube-ipvs0 is local; IPVS takes the packet
    // in LOCAL_IN (after filter INPUT) and sends it on to a real server. Covered by real captured
    // outputs only: this kernel has no IPVS.
    const toRealServer = ctx.direction === "request" ? ipvsIntercept(ctx, pass, c) : undefined;
    if (toRealServer) return toRealServer;
    pass.finish();
    deliverLocally(ctx, c, evidence, fibCmd, pass.packet);
  }
  if (route.type !== "unicast") {
    b.drop(
      view,
      {
        layer: "l3",
        primitive: "route",
        action: "drop",
        summary: `${route.type} route for ${route.dst}: the kernel discards the packet`,
        evidence,
        command: fibCmd,
      },
      {
        code: route.type === "blackhole" ? "ROUTE_BLACKHOLE" : "NO_ROUTE",
        severity: "error",
        message: `${route.type} route ${route.dst} in table ${route.table} on ${view.node} catches ${packet.dst}`,
        evidence,
      },
      `${route.type} route ${route.dst} in ${where(view)}`,
    );
  }
  return routeOut(ctx, pass, c, {
    route,
    ...(rule ? { rule } : {}),
    evidence,
    command: fibCmd,
    origin: received ? "forwarded" : "local",
  });
}

/**
 * The destination is a local address of this netns: the request is delivered to the socket. A reply
 * is taken only by the client's socket, which expects exactly its connection reversed; anything else
 * (a reply whose NAT was never undone) finds no socket and is dropped (TCP answers with a reset).
 */
function deliverLocally(
  ctx: WalkContext,
  c: Cursor,
  evidence: Hop["evidence"],
  command: string,
  packet: Cursor["packet"],
): never {
  const { view } = c;
  const port = packet.dport ? ` on ${packet.protocol}/${packet.dport}` : "";
  const expected = ctx.connection ? reversed(ctx.connection) : undefined;
  if (ctx.direction === "reply" && expected && !samePacket(packet, expected)) {
    const from = endpointOf(packet, "src");
    const wanted = endpointOf(expected, "src");
    const mismatch =
      from !== wanted
        ? `the reply comes from ${from}, but the connection is to ${wanted}`
        : `the reply is for ${endpointOf(packet, "dst")}, but the connection is from ${endpointOf(expected, "dst")}`;
    ctx.b.hop(view, {
      layer: "l3",
      primitive: "local",
      ...(c.inDev ? { device: c.inDev } : {}),
      action: "drop",
      summary: `${packet.dst} is a local address of ${where(view)}; ${mismatch}: no socket takes it${packet.protocol === "tcp" ? " (TCP answers with a reset)" : ""}`,
      evidence,
      command,
    });
    const cause = ctx.b.findings.find((f) => f.code === "BR_NETFILTER_OFF" && f.severity === "error");
    ctx.b.stop(
      "Dropped",
      cause
        ? `${mismatch} (${cause.code} at hop ${cause.hop}: the reply was bridged around the conntrack entry that would have undone the NAT)`
        : `${mismatch}: the client in ${where(view)} drops the reply`,
    );
  }
  ctx.b.hop(view, {
    layer: "l3",
    primitive: "local",
    ...(c.inDev ? { device: c.inDev } : {}),
    action: "deliver",
    summary: `${packet.dst} is a local address of ${where(view)}: delivered to the socket${port}`,
    evidence,
    command,
  });
  ctx.b.deliver(
    ctx.direction === "reply"
      ? `the reply is delivered to the client's socket in ${where(view)}`
      : `delivered to ${packet.dst} in ${where(view)}`,
  );
}

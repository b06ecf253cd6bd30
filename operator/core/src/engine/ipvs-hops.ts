/**
 * kube-proxy IPVS mode in the walk. A Service address is bound on the dummy device kube-ipvs0, so
 * the packet is routed as local and reaches LOCAL_IN. There, after the filter INPUT chain, IPVS's
 * hook (priority NF_IP_PRI_NAT_SRC - 2) finds the virtual server, schedules a real server and, for
 * Masq (NAT, what kube-proxy uses), rewrites the destination and transmits the packet itself
 * (ip_vs_nat_xmit): an output route to the real server, the LOCAL_OUT hook, then POST_ROUTING,
 * where kube-proxy's KUBE-POSTROUTING masquerades packets marked 0x4000 — not FORWARD, and without
 * the nat INPUT chain, which runs after IPVS and never sees the packet (the walk runs the INPUT
 * hook whole before calling here; kube-proxy writes no nat INPUT rules, so that shows nothing extra).
 *
 * This kernel has no IPVS: this path is covered by real captured outputs only (ipvsadm, ipset and
 * iptables listings of kube-proxy IPVS-mode nodes in parsers/ipvs/testdata), never by the live lab.
 */
import type { Address } from "../model/addr.js";
import type { Packet } from "../model/trace.js";
import type { TraceBuilder } from "./builder.js";
import { inNetns, iproute } from "./commands.js";
import { describeRoute, routeOutDev } from "./describe.js";
import { egress } from "./egress.js";
import { ev } from "./evidence.js";
import { runHook } from "./netfilter/hooks.js";
import {
  hostPort,
  type IpvsStep,
  ipvsLookup,
  KUBE_IPVS_DEVICE,
  kubeIpvsAddress,
  serviceName,
} from "./netfilter/ipvs/index.js";
import { emitNetfilter, netfilterBase } from "./netfilter-hops.js";
import { lookupRoute } from "./routing.js";
import type { Cursor, WalkContext } from "./walk.js";
import { where } from "./walk.js";
import type { NetnsView } from "./world.js";

/** The packet as it reaches LOCAL_IN (or, from a local client, LOCAL_OUT) with a local destination. */
export interface IpvsArrival {
  view: NetnsView;
  packet: Packet;
  mark: number;
  dnat: boolean;
  inDev?: string;
  sourceMtu?: number;
}

/**
 * IPVS at LOCAL_IN: returns where the packet goes after IPVS sends it to a real server, or
 * undefined when IPVS does not take it (the walk then delivers it locally). Ends the trace when no
 * real server can be scheduled (Rejected: IPVS answers ICMP port unreachable) or when the node is
 * in IPVS mode but its IPVS table was not captured (Unknown).
 */
export function ipvsIntercept(ctx: WalkContext, at: IpvsArrival): Cursor | undefined {
  const { view, packet } = at;
  const s = view.state;
  const bound = kubeIpvsAddress(s, packet.dst);
  if (!s.netfilter.ipvs) {
    if (!bound) return undefined;
    ctx.b.stop(
      "Unknown",
      `${packet.dst} is bound on ${KUBE_IPVS_DEVICE} of ${view.node} (kube-proxy IPVS mode), but the IPVS table was not captured`,
      [`ipvsadm -S -n on ${view.node}`],
    );
  }
  const step = ipvsLookup(s, packet, ctx.endpoint, at.mark);
  if (!step) {
    if (bound) noVirtualServer(ctx, view, packet, bound);
    return undefined;
  }
  emitIpvsHop(ctx, view, step, bound);
  if (step.action === "reject" || !step.packet || !step.realServer) {
    const vs = step.virtualServer;
    ctx.b.finding(view, {
      code: "SERVICE_NO_ENDPOINTS",
      severity: "error",
      message: `IPVS virtual server ${serviceName(vs)} on ${view.node} has ${vs.realServers.length === 0 ? "no real servers" : "only real servers with weight 0"}: the Service has no ready endpoints, and IPVS answers new connections with ICMP port unreachable (clients see "connection refused")`,
      evidence: [step.evidence],
    });
    ctx.b.stop("Rejected", `no real server for IPVS ${serviceName(vs)} on ${view.node}`);
  }
  const forward = step.realServer.forward;
  if (forward === "Route" || forward === "Tunnel") {
    ctx.b.stop(
      "Unknown",
      `IPVS ${serviceName(step.virtualServer)} forwards with ${forward === "Route" ? "direct routing (-g)" : "IPIP tunnelling (-i)"}, which netmap does not model (kube-proxy uses Masq)`,
      [`a model of IPVS ${forward} forwarding`],
    );
  }
  return transmitToRealServer(ctx, at, step.packet);
}

function percent(p: number): string {
  return `${Number((p * 100).toFixed(1))}%`;
}

function emitIpvsHop(ctx: WalkContext, view: NetnsView, step: IpvsStep, bound: Address | undefined): void {
  const vs = step.virtualServer;
  const how = `${vs.scheduler}${vs.persistent !== undefined ? `, persistent ${vs.persistent}` : ""}`;
  const chosen = step.endpoints.find((e) => e.chosen);
  const summary =
    step.action === "dnat" && chosen
      ? `IPVS virtual server ${serviceName(vs)} (${how}) schedules real server ${chosen.address} (${percent(chosen.probability)} of new connections, ${step.endpoints.length} real server${step.endpoints.length === 1 ? "" : "s"}): DNAT to ${chosen.address}`
      : `IPVS virtual server ${serviceName(vs)} (${how}) has no real server to schedule: ICMP port unreachable`;
  ctx.b.hop(view, {
    layer: "ipvs",
    primitive: "ipvs-service",
    ...(bound ? { device: KUBE_IPVS_DEVICE } : {}),
    rule: serviceName(vs),
    action: step.action,
    summary: step.notes.length > 0 ? `${summary}; ${step.notes.join("; ")}` : summary,
    evidence: [step.evidence, ...(bound ? [ev.address(bound)] : [])],
    command: step.command,
    endpoints: step.endpoints,
    ...(step.affinity ? { affinity: step.affinity } : {}),
    ...(step.packet ? { packet: step.packet } : {}),
  });
}

/**
 * A Service address on kube-ipvs0 without a virtual server for this protocol/port: IPVS lets the
 * packet through and the node's own stack gets it. A host process listening on that port answers on
 * the ClusterIP (kubernetes/kubernetes#72236); newer kube-proxy adds a filter INPUT chain
 * (KUBE-IPVS-FILTER) that rejects such packets, which the INPUT hook shows when it was captured.
 */
function noVirtualServer(ctx: WalkContext, view: NetnsView, packet: Packet, bound: Address): void {
  const s = view.state;
  const onAddress = (s.netfilter.ipvs ?? []).filter((vs) => vs.address === bound.local);
  const served = onAddress.map((vs) => serviceName(vs)).join(", ");
  const port = `${packet.protocol}/${packet.dport ?? "?"}`;
  ctx.b.hop(view, {
    layer: "ipvs",
    primitive: "ipvs-service",
    device: KUBE_IPVS_DEVICE,
    action: "lookup",
    summary: `${packet.dst} is a Service address bound on ${KUBE_IPVS_DEVICE}, but IPVS has no virtual server for ${port}${served ? ` (it has ${served})` : ""}: the packet is not load-balanced`,
    evidence: [ev.address(bound), ...onAddress.map((vs) => ({ source: "ipvsadm -L -n", text: vs.text }))],
    command: inNetns(s, "ipvsadm -L -n"),
  });
  ctx.b.finding(view, {
    code: "IPVS_NO_VIRTUAL_SERVER",
    severity: "warning",
    device: KUBE_IPVS_DEVICE,
    message: `no Service port ${port} on ${packet.dst} is programmed in IPVS on ${view.node}: the packet goes to the node's own sockets, so the connection is refused unless a host process listens on ${packet.dport ?? "that port"} — and then that process answers on the Service address (kubernetes/kubernetes#72236)`,
    evidence: [ev.address(bound)],
  });
}

/**
 * ip_vs_nat_xmit: the DNATed packet leaves through an output route to the real server, LOCAL_OUT,
 * POST_ROUTING and the output device. A real server on one of the node's own addresses (a
 * hostNetwork endpoint such as the API server) is handed back to LOCAL_IN and delivered here.
 */
function transmitToRealServer(ctx: WalkContext, at: IpvsArrival, packet: Packet): Cursor {
  const { view } = at;
  const b: TraceBuilder = ctx.b;
  const s = view.state;
  const decision = lookupRoute(s, { dst: packet.dst });
  const fibCmd = iproute(s, "ip", `route get ${packet.dst}`);
  if (decision.kind === "none" || (decision.route.type !== "unicast" && decision.route.type !== "local")) {
    const evidence = decision.kind === "route" ? [ev.route(decision.route)] : [];
    b.hop(view, {
      layer: "l3",
      primitive: "route",
      action: "drop",
      summary: `IPVS cannot route to the real server ${packet.dst}`,
      evidence,
      command: fibCmd,
    });
    b.finding(view, {
      code: decision.kind === "route" && decision.route.type === "blackhole" ? "ROUTE_BLACKHOLE" : "NO_ROUTE",
      severity: "error",
      message: `${view.node} has no usable route to the IPVS real server ${packet.dst}`,
      evidence,
    });
    b.stop("Dropped", `no route to the IPVS real server ${packet.dst} in ${where(view)}`);
  }
  const { route } = decision;
  if (route.type === "local") {
    b.hop(view, {
      layer: "l3",
      primitive: "local",
      action: "deliver",
      summary: `the real server ${hostPort(packet.dst, packet.dport ?? 0)} is a local address of ${where(view)}: IPVS hands the packet back to LOCAL_IN, delivered to the socket on ${packet.protocol}/${packet.dport ?? "?"}`,
      evidence: [ev.route(route)],
      command: fibCmd,
    });
    b.deliver(`delivered to ${packet.dst} in ${where(view)} (IPVS real server on this node)`);
  }
  const outDev = routeOutDev(route);
  b.hop(view, {
    layer: "l3",
    primitive: "route",
    ...(outDev ? { device: outDev } : {}),
    action: "lookup",
    summary: `IPVS routes to the real server: ${describeRoute(route, packet.dst)}`,
    evidence: [ev.route(route)],
    command: fibCmd,
  });
  if (!outDev)
    b.stop("Unknown", `route ${route.dst} names no output device`, [`the device of route ${route.dst}`]);

  const nf = {
    ...netfilterBase(s, ctx.endpoint),
    ...(at.inDev ? { inDev: at.inDev } : {}),
    outDev,
    // IPVS with net.ipv4.vs.conntrack=1 (kube-proxy sets it) rewrites the connection's reply
    // tuple but does not set the DNAT status bit: ctstatus stays as netfilter left it.
    ctDnat: at.dnat,
  };
  // LOCAL_OUT as IPVS's transmit passes it: raw/mangle/filter OUTPUT run, nat OUTPUT does not (the
  // connection's destination NAT binding was made in PREROUTING, and a nat chain sees it once).
  const out = runHook(s, "output", packet, { ...nf, mark: at.mark }, (chain) => chain.type !== "nat");
  emitNetfilter(b, view, out, "output");
  // POST_ROUTING runs in full: the source NAT binding is still open (IPVS ran before nat INPUT).
  const outcome = runHook(s, "postrouting", out.packet, { ...nf, mark: out.mark });
  emitNetfilter(b, view, outcome, "postrouting", { outDev, route });

  const link = s.links.find((l) => l.name === outDev);
  if (!link)
    b.stop("Unknown", `device ${outDev} of the route is not in the captured links`, [
      `link ${outDev} on ${view.node}`,
    ]);
  const nextHop = route.gateway ?? route.nexthops?.[0]?.gateway ?? packet.dst;
  return egress(ctx, {
    view,
    link,
    packet: outcome.packet,
    nextHop,
    mark: outcome.mark,
    dnat: at.dnat,
    ...(at.sourceMtu ? { sourceMtu: at.sourceMtu } : {}),
  });
}

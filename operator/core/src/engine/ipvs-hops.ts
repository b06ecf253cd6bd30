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
import type { Cursor, Next, WalkContext } from "./context.js";
import { ev } from "./evidence.js";
import {
  hostPort,
  type IpvsStep,
  ipvsLookup,
  KUBE_IPVS_DEVICE,
  kubeIpvsAddress,
  serviceName,
} from "./netfilter/ipvs/index.js";
import type { NetfilterPass } from "./netns/pass.js";
import { routeOut } from "./netns/route-out.js";
import { lookupRoute } from "./routing.js";
import type { NetnsView } from "./world.js";
import { where } from "./world.js";

/**
 * IPVS at LOCAL_IN: returns where the packet goes after IPVS sends it to a real server, or
 * undefined when IPVS does not take it (the walk then delivers it locally). Ends the trace when no
 * real server can be scheduled (Rejected: IPVS answers ICMP port unreachable) or when the node is
 * in IPVS mode but its IPVS table was not captured (Unknown).
 */
export function ipvsIntercept(ctx: WalkContext, pass: NetfilterPass, at: Cursor): Next | undefined {
  const { view } = at;
  const packet = pass.packet;
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
  const step = ipvsLookup(s, packet, ctx.endpoint, pass.mark);
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
  pass.translated(step.packet, ctx.b.lastIndex);
  return transmitToRealServer(ctx, pass, at);
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
 * POST_ROUTING and the output device (the routed tail). A real server on one of the node's own
 * addresses (a hostNetwork endpoint such as the API server) is handed back to LOCAL_IN and delivered here.
 */
function transmitToRealServer(ctx: WalkContext, pass: NetfilterPass, at: Cursor): Next {
  const { view } = at;
  const b: TraceBuilder = ctx.b;
  const s = view.state;
  const packet = pass.packet;
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
    pass.finish();
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
  return routeOut(ctx, pass, at, { route, evidence: [ev.route(route)], command: fibCmd, origin: "ipvs" });
}

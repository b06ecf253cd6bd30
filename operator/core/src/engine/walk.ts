/**
 * The trace engine: a pure function of node states, cluster facts and a packet to an ordered list
 * of hops and a verdict. It follows the packet the way the kernel does, one network namespace at a
 * time: netfilter PREROUTING/OUTPUT, the FIB lookup, FORWARD, POSTROUTING, then out of a device —
 * a veth to its peer netns, a bridge through its FDB to a port, a VXLAN device through its
 * neighbour and FDB entries to a remote VTEP, or an underlay device to the next node. It never runs
 * a command; everything it says comes from the captured state, and where that state is missing it
 * says Unknown and names what is missing.
 */
import type { ClusterFacts, NodeState } from "../model/state.js";
import { effectiveRpFilter, sysctlNumber } from "../model/sysctl.js";
import type { Packet, TraceResult } from "../model/trace.js";
import { TraceBuilder, TraceEnd } from "./builder.js";
import { iproute } from "./commands.js";
import { describeRoute, routeOutDev } from "./describe.js";
import { egress } from "./egress.js";
import { ev } from "./evidence.js";
import { ipvsIntercept } from "./ipvs-hops.js";
import { runHook } from "./netfilter/hooks.js";
import { emitNetfilter, netfilterBase } from "./netfilter-hops.js";
import { lookupRoute } from "./routing.js";
import type { NetnsView } from "./world.js";
import { World } from "./world.js";

export interface TraceInput {
  nodes: readonly NodeState[];
  facts: ClusterFacts;
  packet: Packet;
  /** Which Service endpoint to follow: an index in rule order, or "ip:port". Default: the first. */
  endpoint?: number | string;
}

/** Where the packet is: which netns, as what packet, and how it arrived. */
export interface Cursor {
  view: NetnsView;
  packet: Packet;
  /** The device it was received on; undefined while it is still in the sender's stack. */
  inDev?: string;
  /** For frames bridged into the stack: the bridge port it came through. */
  physInDev?: string;
  mark: number;
  dnat: boolean;
  /** MTU of the link the source pod sent from (the largest packet it will emit). */
  sourceMtu?: number;
}

export interface WalkContext {
  world: World;
  b: TraceBuilder;
  endpoint?: number | string;
}

/** Bounds the walk: no real path crosses more network namespaces than this. */
const MAX_NETNS_TRANSITIONS = 32;

export function trace(input: TraceInput): TraceResult {
  const world = new World(input.nodes, input.facts);
  const b: TraceBuilder = new TraceBuilder(input.packet);
  const ctx: WalkContext = {
    world,
    b,
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
  };
  try {
    walk(ctx, input.packet);
  } catch (e) {
    if (e instanceof TraceEnd) return b.result(e);
    throw e;
  }
  /* c8 ignore next */
  throw new Error("trace ended without a verdict");
}

function walk(ctx: WalkContext, packet: Packet): never {
  const world: World = ctx.world;
  const b: TraceBuilder = ctx.b;
  const start = world.podNetnsOf(packet.src) ?? world.netnsWithAddress(packet.src)?.view;
  if (!start) {
    const captured = world.nodes.map((n) => n.node).join(", ") || "none";
    const node = world.nodeOfPodIp(packet.src);
    b.stop("Unknown", `no captured network namespace holds the source address ${packet.src}`, [
      node
        ? `snapshot of node ${node} (where ${packet.src} runs) with its pod netns`
        : `a snapshot of the node that runs ${packet.src} (captured nodes: ${captured})`,
    ]);
  }
  let cursor: Cursor = { view: start, packet, mark: 0, dnat: false };
  for (let i = 0; i < MAX_NETNS_TRANSITIONS; i++) cursor = stepNetns(ctx, cursor);
  b.stop(
    "Unknown",
    `the path crossed more than ${MAX_NETNS_TRANSITIONS} network namespaces (a routing loop?)`,
    ["a loop-free path"],
  );
}

/** Processes the packet inside one netns until it leaves it (returns where it arrives) or stops. */
function stepNetns(ctx: WalkContext, c: Cursor): Cursor {
  const b: TraceBuilder = ctx.b;
  const { view } = c;
  const s = view.state;
  const received = c.inDev !== undefined;
  let packet = c.packet;
  let mark = c.mark;
  let dnat = c.dnat;
  const nf = netfilterBase(s, ctx.endpoint);

  if (received) {
    const pre = runHook(s, "prerouting", packet, {
      ...nf,
      ...(c.inDev !== undefined ? { inDev: c.inDev } : {}),
      ...(c.physInDev !== undefined ? { physInDev: c.physInDev } : {}),
      mark,
      ctDnat: dnat,
    });
    emitNetfilter(b, view, pre, "prerouting");
    packet = pre.packet;
    mark = pre.mark;
    dnat ||= pre.dnat;
    checkRpFilter(ctx, view, c.inDev as string, packet);
  }

  let decision = lookupRoute(s, {
    dst: packet.dst,
    src: packet.src,
    ...(c.inDev ? { iif: c.inDev } : {}),
    mark,
  });
  if (!received && decision.kind === "route") {
    // Locally generated: OUTPUT runs after the first routing decision; a DNAT there re-routes.
    const outDev = routeOutDev(decision.route);
    const out = runHook(s, "output", packet, { ...nf, ...(outDev ? { outDev } : {}), mark, ctDnat: dnat });
    emitNetfilter(b, view, out, "output");
    if (out.packet.dst !== packet.dst)
      decision = lookupRoute(s, { dst: out.packet.dst, src: out.packet.src, mark: out.mark });
    packet = out.packet;
    mark = out.mark;
    dnat ||= out.dnat;
  }

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
    if (received) {
      const input = runHook(s, "input", packet, {
        ...nf,
        ...(c.inDev ? { inDev: c.inDev } : {}),
        mark,
        ctDnat: dnat,
      });
      emitNetfilter(b, view, input, "input");
      mark = input.mark;
    }
    // kube-proxy IPVS mode: a Service address bound on kube-ipvs0 is local; IPVS takes the packet
    // in LOCAL_IN (after filter INPUT) and sends it on to a real server. Covered by real captured
    // outputs only: this kernel has no IPVS.
    const toRealServer = ipvsIntercept(ctx, {
      view,
      packet,
      mark,
      dnat,
      ...(c.inDev ? { inDev: c.inDev } : {}),
      ...(c.sourceMtu ? { sourceMtu: c.sourceMtu } : {}),
    });
    if (toRealServer) return toRealServer;
    b.hop(view, {
      layer: "l3",
      primitive: "local",
      ...(c.inDev ? { device: c.inDev } : {}),
      action: "deliver",
      summary: `${packet.dst} is a local address of ${where(view)}: delivered to the socket${packet.dport ? ` on ${packet.protocol}/${packet.dport}` : ""}`,
      evidence,
      command: fibCmd,
    });
    b.deliver(`delivered to ${packet.dst} in ${where(view)}`);
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

  const outDev = routeOutDev(route);
  const nextHop = route.gateway ?? route.nexthops?.[0]?.gateway ?? packet.dst;
  b.hop(view, {
    layer: "l3",
    primitive: "route",
    ...(outDev ? { device: outDev } : {}),
    action: "lookup",
    summary: describeRoute(route, packet.dst),
    evidence,
    command: fibCmd,
  });
  if (!outDev)
    b.stop("Unknown", `route ${route.dst} names no output device`, [`the device of route ${route.dst}`]);

  if (received) {
    checkForwarding(ctx, view);
    const fwd = runHook(s, "forward", packet, {
      ...nf,
      inDev: c.inDev as string,
      outDev,
      ...(c.physInDev ? { physInDev: c.physInDev } : {}),
      mark,
      ctDnat: dnat,
    });
    emitNetfilter(b, view, fwd, "forward");
    packet = fwd.packet;
    mark = fwd.mark;
  }
  const post = runHook(s, "postrouting", packet, {
    ...nf,
    ...(c.inDev ? { inDev: c.inDev } : {}),
    outDev,
    mark,
    ctDnat: dnat,
  });
  emitNetfilter(b, view, post, "postrouting", { outDev, route });
  packet = post.packet;
  mark = post.mark;

  const outLink = view.state.links.find((l) => l.name === outDev);
  if (!outLink)
    b.stop("Unknown", `device ${outDev} of the route is not in the captured links`, [
      `link ${outDev} on ${view.node}`,
    ]);
  const sourceMtu = c.sourceMtu ?? (view.kind === "pod" ? outLink.mtu : undefined);
  return egress(ctx, {
    view,
    link: outLink,
    packet,
    nextHop,
    mark,
    dnat,
    ...(sourceMtu ? { sourceMtu } : {}),
  });
}

export function where(view: NetnsView): string {
  if (view.kind === "host") return `the host netns of ${view.node}`;
  const pod = view.pod ? `pod ${view.pod.namespace}/${view.pod.name}` : "pod";
  return `${pod} (netns ${view.state.netns} on ${view.node})`;
}

/** A node only forwards what it routes when ip_forward is on. */
function checkForwarding(ctx: WalkContext, view: NetnsView): void {
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
function checkRpFilter(ctx: WalkContext, view: NetnsView, inDev: string, packet: Packet): void {
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

/** `ip -j route show table all` and the text form of `ip route [show table all]` → Route[]. */
import { sourceCommand } from "../../capture/sources.js";
import type { Nexthop, Route, RouteType } from "../../model/route.js";
import { ParseError } from "../errors.js";
import { Fields, isObject, parseJsonArray } from "./json.js";
import { familyOf, isIp, normalizePrefix, Tokens, textLines, tokens } from "./text.js";

export const ROUTE_TYPES: readonly RouteType[] = [
  "unicast",
  "local",
  "broadcast",
  "anycast",
  "multicast",
  "blackhole",
  "unreachable",
  "prohibit",
  "throw",
  "nat",
];

/** RTNH_F_* / RTM_F_* flags iproute2 prints as bare words. */
export const ROUTE_FLAGS = new Set([
  "onlink",
  "linkdown",
  "pervasive",
  "dead",
  "offload",
  "trap",
  "notify",
  "unresolved",
  "rt_offload",
  "rt_trap",
  "rt_offload_failed",
]);

function isRouteType(s: string): s is RouteType {
  return (ROUTE_TYPES as readonly string[]).includes(s);
}

/** IPv6 when any address says so; iproute2 prints `pref` only for IPv6 routes. */
function inferFamily(addrs: (string | undefined)[], hasPref: boolean): 4 | 6 {
  if (addrs.some((a) => a !== undefined && a !== "default" && familyOf(a) === 6)) return 6;
  return hasPref ? 6 : 4;
}

/**
 * Parse `ip -j route show table all`. A missing `table` is "main", `type` defaults to "unicast",
 * `dst: "default"` becomes 0.0.0.0/0 (::/0) and host destinations get /32 (/128). The JSON carries no
 * family: it is inferred from the addresses (and `pref`, which only IPv6 routes have).
 */
export function parseIpRouteJson(text: string): Route[] {
  const source = sourceCommand("ip-route");
  return parseJsonArray(text, source).map((el) => {
    const f: Fields = new Fields(el, source);
    const rawDst = f.reqStr("dst");
    const type = f.str("type") ?? "unicast";
    if (!isRouteType(type)) f.fail(`unknown route type "${type}"`);
    const nexthops: Nexthop[] | undefined = f.arr("nexthops")?.map((nh) => {
      if (!isObject(nh)) return f.fail("nexthops entries must be objects");
      const hop: Nexthop = { flags: f.strings("flags", nh) };
      const gw = f.str("gateway", nh);
      if (gw !== undefined) hop.gateway = gw;
      const dev = f.str("dev", nh);
      if (dev !== undefined) hop.dev = dev;
      const w = f.num("weight", nh);
      if (w !== undefined) hop.weight = w;
      return hop;
    });
    const gateway = f.str("gateway") ?? viaHost(f);
    const prefsrc = f.str("prefsrc");
    const pref = f.str("pref");
    const family = inferFamily(
      [rawDst, gateway, prefsrc, ...(nexthops ?? []).map((h) => h.gateway)],
      pref !== undefined,
    );
    const dst = normalizePrefix(rawDst, family);
    if (dst === undefined) f.fail(`invalid dst "${rawDst}"`);
    const r: Route = { family, type, table: f.str("table") ?? "main", dst, flags: f.strings("flags") };
    if (gateway !== undefined) r.gateway = gateway;
    const dev = f.str("dev");
    if (dev !== undefined) r.dev = dev;
    const protocol = f.str("protocol");
    if (protocol !== undefined) r.protocol = protocol;
    const scope = f.str("scope");
    if (scope !== undefined) r.scope = scope;
    if (prefsrc !== undefined) r.prefsrc = prefsrc;
    const metric = f.num("metric");
    if (metric !== undefined) r.metric = metric;
    if (nexthops !== undefined) r.nexthops = nexthops;
    const tos = f.str("tos");
    if (tos !== undefined) r.tos = tos;
    const mtu = metricsMtu(f);
    if (mtu !== undefined) r.mtu = mtu;
    if (pref !== undefined) r.pref = pref;
    return r;
  });
}

/** RTA_VIA (`via inet6 fe80::1` on an IPv4 route) is an object {family, host}. */
function viaHost(f: Fields): string | undefined {
  const via = f.obj("via");
  return via ? f.str("host", via) : undefined;
}

/** `"metrics":[{"mtu":1400}]` (iproute2 6.x) or `"metrics":{"mtu":1400}`. */
function metricsMtu(f: Fields): number | undefined {
  const m = f.el.obj.metrics;
  const objs = Array.isArray(m) ? m : m === undefined ? [] : [m];
  for (const o of objs) {
    if (isObject(o)) {
      const mtu = f.num("mtu", o);
      if (mtu !== undefined) return mtu;
    }
  }
  return undefined;
}

/** Keywords followed by one value that the model does not keep. */
const SKIP_VALUE = new Set([
  "from",
  "nhid",
  "mark",
  "realm",
  "realms",
  "expires",
  "error",
  "hoplimit",
  "advmss",
  "rtt",
  "rttvar",
  "reordering",
  "window",
  "cwnd",
  "initcwnd",
  "initrwnd",
  "ssthresh",
  "quickack",
  "congctl",
  "features",
  "fastopen_no_cookie",
  "rto_min",
  "users",
  "age",
  "encap",
  "as",
]);

/**
 * Parse the text form of `ip route` / `ip route show table all`. `table` names the table of lines that
 * carry no `table` keyword (iproute2 omits it for main). Handles `blackhole …`, `… onlink`, `linkdown`,
 * numeric protocols (`proto 80`), old double-spaced output, trailing blanks and multipath
 * (`\tnexthop via … dev … weight N` continuation lines). Throws ParseError with the line number.
 */
export function parseIpRouteText(text: string, table = "main"): Route[] {
  const source = sourceCommand("ip-route");
  const routes: Route[] = [];
  for (const line of textLines(text)) {
    const toks = tokens(line.text);
    if (toks[0] === "nexthop") {
      const prev = routes[routes.length - 1];
      if (!prev) throw new ParseError(source, line.no, "nexthop line without a route", line.text);
      prev.nexthops = [...(prev.nexthops ?? []), nexthopText(new Tokens(toks.slice(1), source, line))];
      continue;
    }
    routes.push(routeText(new Tokens(toks, source, line), table));
  }
  for (const r of routes) {
    if (r.family === 4 && r.nexthops?.some((h) => h.gateway !== undefined && familyOf(h.gateway) === 6)) {
      r.family = 6;
      if (r.dst === "0.0.0.0/0") r.dst = "::/0";
    }
  }
  return routes;
}

function routeText(t: Tokens, defaultTable: string): Route {
  let type: RouteType = "unicast";
  const first = t.peek() ?? "";
  if (isRouteType(first)) {
    type = first;
    t.next();
  }
  const rawDst = t.next();
  if (rawDst === undefined) t.fail("route without a destination (truncated line?)");
  const r: Route = { family: 4, type, table: defaultTable, dst: rawDst, flags: [] };
  while (!t.done) {
    const k = t.next() ?? "";
    if (k === "via") r.gateway = gateway(t);
    else if (k === "dev") r.dev = t.value(k);
    else if (k === "table") r.table = t.value(k);
    else if (k === "proto") r.protocol = t.value(k);
    else if (k === "scope") r.scope = t.value(k);
    else if (k === "src") r.prefsrc = t.value(k);
    else if (k === "metric") r.metric = t.int(k);
    else if (k === "tos" || k === "dsfield") r.tos = t.value(k);
    else if (k === "pref") r.pref = t.value(k);
    else if (k === "mtu") {
      if (t.peek() === "lock") t.next();
      r.mtu = t.int(k);
    } else if (ROUTE_FLAGS.has(k)) r.flags.push(k);
    else if (SKIP_VALUE.has(k)) t.value(k);
  }
  r.family = inferFamily([rawDst, r.gateway, r.prefsrc], r.pref !== undefined);
  const dst = normalizePrefix(rawDst, r.family);
  if (dst === undefined) t.fail(`invalid destination "${rawDst}"`);
  r.dst = dst;
  return r;
}

/** The address after `via` (`via inet6 fe80::1` names the family first). */
function gateway(t: Tokens): string {
  let gw = t.value("via");
  if (gw === "inet" || gw === "inet6") gw = t.value("via");
  if (!isIp(gw)) t.fail(`invalid gateway "${gw}"`);
  return gw;
}

function nexthopText(t: Tokens): Nexthop {
  const hop: Nexthop = { flags: [] };
  while (!t.done) {
    const k = t.next() ?? "";
    if (k === "via") hop.gateway = gateway(t);
    else if (k === "dev") hop.dev = t.value(k);
    else if (k === "weight") hop.weight = t.int(k);
    else if (ROUTE_FLAGS.has(k)) hop.flags.push(k);
  }
  return hop;
}

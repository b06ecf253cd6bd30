/** `ip -j route show table all` and the text form of `ip route [show table all]` → Route[]. */
import { sourceCommand, textSourceCommand } from "../../capture/sources.js";
import type { Nexthop, Route, RouteType } from "../../model/route.js";
import { ParseError } from "../errors.js";
import { Fields, isObject, parseJsonArray } from "./json.js";
import { dumpFamilies, type FamilyEvidence } from "./route-family.js";
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

/**
 * Parse `ip -j route show table all`. A missing `table` is "main", `type` defaults to "unicast",
 * `dst: "default"` becomes 0.0.0.0/0 (::/0) and host destinations get /32 (/128). The JSON carries no
 * family: a route's own addresses name it, and an address-less route is in the family of the
 * dump's section it is printed in ({@link dumpFamilies}: `pref`, and `error`/`expires` outside a
 * `cache` entry, are printed for IPv6 routes only).
 */
export function parseIpRouteJson(text: string): Route[] {
  const source = sourceCommand("ip-route");
  const parsed = parseJsonArray(text, source).map((el) => {
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
    const sameFamilyGateway = f.str("gateway");
    const gateway = sameFamilyGateway ?? viaHost(f);
    const prefsrc = f.str("prefsrc");
    const pref = f.str("pref");
    const r: Route = {
      family: 4,
      type,
      table: f.str("table") ?? "main",
      dst: rawDst,
      flags: f.strings("flags"),
    };
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
    const o = f.el.obj;
    const cacheInfo = (o.error !== undefined || o.expires !== undefined) && o.cache === undefined;
    const evidence = familyEvidence(
      [rawDst, prefsrc, sameFamilyGateway, ...(nexthops ?? []).map((h) => h.gateway)],
      pref !== undefined || cacheInfo,
    );
    return { r, f, rawDst, evidence };
  });
  const families = dumpFamilies(parsed.map((p) => p.evidence));
  return parsed.map(({ r, f, rawDst }, i) => {
    r.family = families[i] ?? 4;
    const dst = normalizePrefix(rawDst, r.family);
    if (dst === undefined) return f.fail(`invalid dst "${rawDst}"`);
    r.dst = dst;
    return r;
  });
}

/** The family the first address among a route's own (destination, source, gateway, next hops) names. */
function familyEvidence(addrs: (string | undefined)[], ipv6Only: boolean): FamilyEvidence {
  const addr = addrs.map((a) => a?.split("/")[0]).find((a) => a !== undefined && isIp(a));
  return addr === undefined ? { ipv6Only } : { own: familyOf(addr), ipv6Only };
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
  "used",
  "ipid",
  "ts",
  "tsage",
  "iif",
  "uid",
]);

/** How a text dump was taken. */
export interface RouteTextOptions {
  /** The table of lines that carry no `table` keyword (iproute2 omits it for main). */
  table?: string;
  /** The dump's family when it was asked for one (`ip -4 route …`, `ip -6 route …`). */
  family?: 4 | 6;
  /** What was parsed, named in errors: the command or the file. Default `ip route show table all`. */
  source?: string;
}

/** One route of the dump: the route, where it was printed and what it says about its family. */
interface TextRecord {
  route: Route;
  rawDst: string;
  t: Tokens;
  /** `via inet6 …` / `via inet …`: the gateway is of another family than the route (RTA_VIA). */
  viaOtherFamily?: boolean;
  ipv6Only: boolean;
}

/**
 * Parse the text form of `ip route` / `ip route show table all`. Handles `blackhole …`, `… onlink`,
 * `linkdown`, numeric protocols (`proto 80`), old double-spaced output, trailing blanks, multipath
 * (`\tnexthop via … dev … weight N` continuation lines) and the `    cache …` line iproute2 wraps a
 * cached (cloned) route's attributes onto. The family of an address-less route comes from the dump
 * ({@link dumpFamilies}). Throws ParseError with the line number.
 */
export function parseIpRouteText(text: string, options: RouteTextOptions = {}): Route[] {
  const source = options.source ?? textSourceCommand("ip-route");
  const table = options.table ?? "main";
  const records: TextRecord[] = [];
  for (const line of textLines(text)) {
    const toks = tokens(line.text);
    const prev = records[records.length - 1];
    if (toks[0] === "nexthop" || toks[0] === "cache") {
      if (!prev) throw new ParseError(source, line.no, `${toks[0]} line without a route`, line.text);
      const t = new Tokens(toks.slice(1), source, line);
      if (toks[0] === "nexthop") prev.route.nexthops = [...(prev.route.nexthops ?? []), nexthopText(t)];
      else attributes(t, prev, true);
      continue;
    }
    records.push(routeText(new Tokens(toks, source, line), table));
  }
  const evidence = records.map((rec) =>
    familyEvidence(
      [
        rec.rawDst,
        rec.route.prefsrc,
        // `via inet6 fe80::1` on an IPv4 route is RTA_VIA: another family's gateway.
        rec.viaOtherFamily ? undefined : rec.route.gateway,
        ...(rec.route.nexthops ?? []).map((h) => h.gateway),
      ],
      rec.ipv6Only,
    ),
  );
  const families = dumpFamilies(evidence, options.family);
  return records.map((rec, i) => {
    const family = families[i] ?? 4;
    const own = evidence[i]?.own;
    if (own !== undefined && own !== family) rec.t.fail(`an IPv${own} route in an IPv${family} dump`);
    const dst = normalizePrefix(rec.rawDst, family);
    if (dst === undefined) return rec.t.fail(`invalid destination "${rec.rawDst}"`);
    rec.route.family = family;
    rec.route.dst = dst;
    return rec.route;
  });
}

function routeText(t: Tokens, defaultTable: string): TextRecord {
  let type: RouteType = "unicast";
  const first = t.peek() ?? "";
  if (isRouteType(first)) {
    type = first;
    t.next();
  }
  const rawDst = t.next();
  if (rawDst === undefined) t.fail("route without a destination (truncated line?)");
  const route: Route = { family: 4, type, table: defaultTable, dst: rawDst, flags: [] };
  const rec: TextRecord = { route, rawDst, t, ipv6Only: false };
  attributes(t, rec, false);
  return rec;
}

/**
 * The attributes after the destination, on the route's own line or on its `cache` line. Outside a
 * `cache` line, `error` and `expires` are RTA_CACHEINFO, which iproute2 prints there for IPv6 only.
 */
function attributes(t: Tokens, rec: TextRecord, cacheLine: boolean): void {
  const r = rec.route;
  while (!t.done) {
    const k = t.next() ?? "";
    if (k === "via") {
      const via = t.peek();
      if (via === "inet" || via === "inet6") rec.viaOtherFamily = true;
      r.gateway = gateway(t);
    } else if (k === "dev") r.dev = t.value(k);
    else if (k === "table") r.table = t.value(k);
    else if (k === "proto") r.protocol = t.value(k);
    else if (k === "scope") r.scope = t.value(k);
    else if (k === "src") r.prefsrc = t.value(k);
    else if (k === "metric") r.metric = t.int(k);
    else if (k === "tos" || k === "dsfield") r.tos = t.value(k);
    else if (k === "pref") {
      r.pref = t.value(k);
      rec.ipv6Only = true;
    } else if (k === "mtu") {
      if (t.peek() === "lock") t.next();
      r.mtu = t.int(k);
    } else if (ROUTE_FLAGS.has(k)) r.flags.push(k);
    else if (SKIP_VALUE.has(k)) {
      t.value(k);
      if (!cacheLine && (k === "error" || k === "expires")) rec.ipv6Only = true;
    }
  }
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

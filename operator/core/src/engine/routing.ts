/**
 * The FIB lookup the kernel does for one packet: policy rules in priority order, then the longest
 * matching prefix in the table a rule points at (ties broken by metric). Pure.
 */
import type { PolicyRule, Route } from "../model/route.js";
import type { NetnsState } from "../model/state.js";
import { type Sysctls, sysctlNumber } from "../model/sysctl.js";
import { addressFamily, parsePrefix, prefixContains } from "./ip.js";

export interface RouteQuery {
  dst: string;
  src?: string;
  /** Input interface, for forwarded packets (rules with `iif`). */
  iif?: string;
  mark?: number;
}

export type RouteDecision =
  | { kind: "route"; route: Route; rule?: PolicyRule }
  | { kind: "none"; triedTables: string[] };

/** The rules the kernel installs when none were captured: local, main, default. */
const DEFAULT_RULES: PolicyRule[] = [
  { family: 4, priority: 0, not: false, action: "lookup", table: "local" },
  { family: 4, priority: 32766, not: false, action: "lookup", table: "main" },
  { family: 4, priority: 32767, not: false, action: "lookup", table: "default" },
];

function ruleMatches(rule: PolicyRule, q: RouteQuery): boolean {
  const checks: boolean[] = [];
  if (rule.src) checks.push(q.src !== undefined && contains(rule.src, q.src));
  if (rule.dst) checks.push(contains(rule.dst, q.dst));
  if (rule.iif) checks.push(rule.iif === (q.iif ?? "lo"));
  if (rule.oif) checks.push(false); // oif rules only match sockets bound to a device
  if (rule.fwmark) {
    const m = rule.fwmark.mask ?? 0xffffffff;
    checks.push(((q.mark ?? 0) & m) === (rule.fwmark.value & m));
  }
  const all = checks.every(Boolean);
  return rule.not ? !all : all;
}

function contains(cidr: string, ip: string): boolean {
  const p = parsePrefix(cidr);
  return p !== undefined && prefixContains(p, ip);
}

/**
 * A route whose device has no carrier is marked `linkdown` and still used, unless
 * net.ipv4.conf.{all,<dev>}.ignore_routes_with_linkdown is 1 (the default is 0): then the kernel
 * skips it as if it did not exist.
 */
export function ignoresLinkdown(sysctls: Sysctls, dev: string | undefined): boolean {
  const key = (d: string) => `net.ipv4.conf.${d}.ignore_routes_with_linkdown`;
  return (
    sysctlNumber(sysctls, key("all")) === 1 || (dev !== undefined && sysctlNumber(sysctls, key(dev)) === 1)
  );
}

/** Longest-prefix match within one table. Throw routes end the lookup in this table. */
export function lookupTable(
  routes: readonly Route[],
  table: string,
  dst: string,
  sysctls: Sysctls = {},
): Route | undefined {
  let best: Route | undefined;
  let bestLen = -1;
  for (const r of routes) {
    if (r.table !== table) continue;
    if (r.type === "broadcast" || r.type === "multicast" || r.type === "anycast") continue;
    const p = parsePrefix(r.dst);
    if (!p || !prefixContains(p, dst)) continue;
    if (r.flags.includes("linkdown") && r.type === "unicast" && ignoresLinkdown(sysctls, r.dev)) continue;
    if (p.length > bestLen || (p.length === bestLen && (r.metric ?? 0) < (best?.metric ?? 0))) {
      best = r;
      bestLen = p.length;
    }
  }
  return best;
}

/** Policy routing + table lookup, as `ip route get` would answer. */
export function lookupRoute(state: NetnsState, q: RouteQuery): RouteDecision {
  const family = addressFamily(q.dst) ?? 4;
  const captured = state.rules.filter((r) => r.family === family);
  const rules = (captured.length > 0 ? captured : DEFAULT_RULES)
    .slice()
    .sort((a, b) => a.priority - b.priority);
  const tried: string[] = [];
  let i = 0;
  let guard = 0;
  while (i < rules.length && guard++ < 1024) {
    const rule = rules[i] as PolicyRule;
    i++;
    if (!ruleMatches(rule, q)) continue;
    if (rule.action === "goto") {
      const target = rules.findIndex((r) => r.priority >= (rule.gotoPriority ?? Number.POSITIVE_INFINITY));
      if (target > i - 1) i = target;
      continue;
    }
    if (rule.action === "nop") continue;
    if (rule.action !== "lookup") {
      // blackhole / unreachable / prohibit rules end the lookup like a route of that type.
      return {
        kind: "route",
        rule,
        route: { family, type: rule.action, table: "(rule)", dst: rule.dst ?? "0.0.0.0/0", flags: [] },
      };
    }
    const table = rule.table ?? "main";
    tried.push(table);
    const route = lookupTable(state.routes, table, q.dst, state.sysctls);
    if (!route || route.type === "throw") continue;
    if (rule.suppressPrefixlen !== undefined) {
      const p = parsePrefix(route.dst);
      if (p && p.length <= rule.suppressPrefixlen) continue;
    }
    return { kind: "route", route, rule };
  }
  return { kind: "none", triedTables: tried };
}

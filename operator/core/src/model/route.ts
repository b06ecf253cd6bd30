/** Routes and policy rules, as `ip -j route show table all` and `ip -j rule` print them. */

/** RTN_* route types. */
export type RouteType =
  | "unicast"
  | "local"
  | "broadcast"
  | "anycast"
  | "multicast"
  | "blackhole"
  | "unreachable"
  | "prohibit"
  | "throw"
  | "nat";

export interface Nexthop {
  gateway?: string;
  dev?: string;
  weight?: number;
  flags: string[];
}

export interface Route {
  family: 4 | 6;
  type: RouteType;
  /** Table name as iproute2 prints it ("main", "local", "default") or the number as a string. */
  table: string;
  /** Destination prefix, always with a length: "default" is "0.0.0.0/0", "10.0.0.5" is "10.0.0.5/32". */
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  /** "onlink", "linkdown", "pervasive", ... */
  flags: string[];
  /** ECMP next hops (`nexthop via ... dev ... weight ...`). */
  nexthops?: Nexthop[];
  tos?: string;
  mtu?: number;
  /** IPv6 router preference (`pref medium`), printed by iproute2 for every IPv6 route. */
  pref?: string;
}

export type RuleAction = "lookup" | "goto" | "nop" | "blackhole" | "unreachable" | "prohibit";

/** A policy routing rule (FIB rule). */
export interface PolicyRule {
  family: 4 | 6;
  priority: number;
  not: boolean;
  /** "all" is stored as undefined. Prefixes always carry a length. */
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
  /** fwmark value and optional mask, as numbers. */
  fwmark?: { value: number; mask?: number };
  ipproto?: string;
  dport?: number;
  sport?: number;
  /** Upper end of a port range (`sport 1000-2000`); absent for a single port. */
  dportEnd?: number;
  sportEnd?: number;
  action: RuleAction;
  /** Table for `lookup`; target priority for `goto`. */
  table?: string;
  gotoPriority?: number;
  suppressPrefixlen?: number;
}

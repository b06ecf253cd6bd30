/**
 * Whether one iptables rule's matches hold for the packet, module by module, as the kernel's
 * xt_* matches decide it for a connection's first packet. A module or option netmap does not know
 * yields `{ unknown }` (the rule is then treated as not matching, and the outcome says why).
 */
import type { IptablesMatch, IptablesOption, IptablesRule } from "../../../model/iptables.js";
import type { IpSet } from "../../../model/ipvs.js";
import type { Packet } from "../../../model/trace.js";
import type { NetfilterContext } from "../types.js";
import { matchIpset } from "./ipset-match.js";
import { inPrefix, inRange, ipv4ToNumber, parseIpv4Prefix } from "./ipv4.js";

/** True/false, or why it cannot be decided. */
export type MatchVerdict = boolean | { unknown: string };

/** What a match can look at. `recent` holds the `-m recent` names set earlier in this walk. */
export interface MatchEnv {
  packet: Packet;
  ctx: NetfilterContext;
  mark: number;
  /** DNAT/SNAT already applied to this connection (ctx.ctDnat or earlier in this walk). */
  dnat: boolean;
  snat: boolean;
  ipsets: ReadonlyMap<string, IpSet> | undefined;
  recent: Set<string>;
}

const PROTO_NUM: Readonly<Record<string, string>> = { "6": "tcp", "17": "udp", "1": "icmp" };

function protoName(p: string): string {
  const l = p.toLowerCase();
  return PROTO_NUM[l] ?? l;
}

/** "80", "30000:32767", ":1024", "1024:" → whether port is inside. */
export function portInSpec(port: number, spec: string): boolean {
  const i = spec.indexOf(":");
  if (i < 0) return port === Number(spec);
  const lo = i === 0 ? 0 : Number(spec.slice(0, i));
  const hi = i === spec.length - 1 ? 65535 : Number(spec.slice(i + 1));
  return port >= lo && port <= hi;
}

/** `-i eth+` style interface match. */
function ifaceMatches(dev: string, pattern: string): boolean {
  return pattern.endsWith("+") ? dev.startsWith(pattern.slice(0, -1)) : dev === pattern;
}

function isLocal(addr: string, ctx: NetfilterContext): boolean {
  if (ctx.localAddresses.has(addr)) return true;
  const n = ipv4ToNumber(addr);
  return n !== undefined && n >>> 24 === 127;
}

function addrType(addr: string, type: string, ctx: NetfilterContext): boolean | undefined {
  const n = ipv4ToNumber(addr);
  switch (type.toUpperCase()) {
    case "LOCAL":
      return isLocal(addr, ctx);
    case "MULTICAST":
      return n !== undefined && n >>> 28 === 14;
    case "BROADCAST":
      return n === 0xffffffff;
    case "UNICAST":
      return !isLocal(addr, ctx) && n !== undefined && n >>> 28 !== 14 && n !== 0xffffffff;
    case "UNSPEC":
      return n === 0;
    default:
      return undefined;
  }
}

function unknown(module: string, o: IptablesOption): { unknown: string } {
  return { unknown: `-m ${module || "(base)"} --${o.name}${o.args.length ? ` ${o.args.join(" ")}` : ""}` };
}

type OptionEval = (o: IptablesOption, env: MatchEnv) => boolean | { unknown: string } | undefined;

function baseOption(o: IptablesOption, env: MatchEnv): boolean | { unknown: string } | undefined {
  const arg = o.args[0] ?? "";
  const { packet, ctx } = env;
  switch (o.name) {
    case "s":
    case "d": {
      const prefix = parseIpv4Prefix(arg);
      const addr = ipv4ToNumber(o.name === "s" ? packet.src : packet.dst);
      if (!prefix || addr === undefined) return { unknown: `-${o.name} ${arg} (not an IPv4 address)` };
      return inPrefix(addr, prefix);
    }
    case "p": {
      const p = protoName(arg);
      return p === "all" || p === "0" || p === packet.protocol;
    }
    case "i":
    case "o": {
      const dev = o.name === "i" ? ctx.inDev : ctx.outDev;
      if (dev === undefined)
        return {
          unknown: `-${o.name} ${arg}: the ${o.name === "i" ? "input" : "output"} device is not known here`,
        };
      return ifaceMatches(dev, arg);
    }
    case "f":
      return false; // a trace models an unfragmented first packet
    default:
      return undefined;
  }
}

function portOption(module: string): OptionEval {
  return (o, env) => {
    const { packet } = env;
    if (packet.protocol !== module) return false;
    const arg = o.args[0] ?? "";
    switch (o.name) {
      case "dport":
      case "destination-port":
        return packet.dport !== undefined && portInSpec(packet.dport, arg);
      case "sport":
      case "source-port":
        return packet.sport !== undefined && portInSpec(packet.sport, arg);
      case "syn":
        return true; // the first packet of a TCP connection is a SYN
      case "tcp-flags": {
        // --tcp-flags MASK COMP: the first packet carries only SYN; (flags & MASK) must equal COMP.
        const all = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        const list = (s: string) => (s === "ALL" ? all : s === "NONE" ? [] : s.split(","));
        const comp = new Set(list(o.args[1] ?? ""));
        return list(o.args[0] ?? "").every((f) => (f === "SYN") === comp.has(f));
      }
      default:
        return undefined;
    }
  };
}

function multiport(o: IptablesOption, env: MatchEnv): boolean | undefined {
  const { packet } = env;
  const list = (o.args[0] ?? "").split(",");
  const has = (p: number | undefined) => p !== undefined && list.some((spec) => portInSpec(p, spec));
  switch (o.name) {
    case "dports":
    case "destination-ports":
      return has(packet.dport);
    case "sports":
    case "source-ports":
      return has(packet.sport);
    case "ports":
      return has(packet.dport) || has(packet.sport);
    default:
      return undefined;
  }
}

function ctStates(env: MatchEnv): Set<string> {
  const s = new Set<string>([env.ctx.ctState.toUpperCase()]);
  if (env.dnat) s.add("DNAT");
  if (env.snat) s.add("SNAT");
  return s;
}

function conntrack(o: IptablesOption, env: MatchEnv): boolean | undefined {
  const wanted = (o.args[0] ?? "").split(",").map((s) => s.toUpperCase());
  switch (o.name) {
    case "ctstate":
    case "state": {
      const have = ctStates(env);
      return wanted.some((w) => have.has(w));
    }
    case "ctstatus": {
      const have = new Set<string>();
      if (env.dnat) have.add("DNAT");
      if (env.snat) have.add("SNAT");
      if (env.ctx.ctState === "established") have.add("SEEN_REPLY").add("CONFIRMED").add("ASSURED");
      if (have.size === 0) have.add("NONE");
      return wanted.some((w) => have.has(w));
    }
    default:
      return undefined;
  }
}

/** `--mark value[/mask]` against a mark. */
function markMatches(mark: number, arg: string): boolean {
  const [v, m] = arg.split("/");
  const mask = m === undefined ? 0xffffffff : Number(m);
  return (mark & mask) >>> 0 === Number(v) >>> 0;
}

function physdev(o: IptablesOption, env: MatchEnv): boolean | undefined {
  const { ctx } = env;
  const bridged = ctx.physInDev !== undefined || ctx.physOutDev !== undefined;
  switch (o.name) {
    case "physdev-in":
      return ctx.physInDev !== undefined && ifaceMatches(ctx.physInDev, o.args[0] ?? "");
    case "physdev-out":
      return ctx.physOutDev !== undefined && ifaceMatches(ctx.physOutDev, o.args[0] ?? "");
    case "physdev-is-in":
      return ctx.physInDev !== undefined;
    case "physdev-is-out":
      return ctx.physOutDev !== undefined;
    case "physdev-is-bridged":
      return bridged && ctx.physOutDev !== undefined;
    default:
      return undefined;
  }
}

function recent(m: IptablesMatch, env: MatchEnv): MatchVerdict {
  const name = m.options.find((o) => o.name === "name")?.args[0] ?? "DEFAULT";
  let result: MatchVerdict = { unknown: "-m recent without --set/--rcheck/--update/--remove" };
  let negated = false;
  for (const o of m.options) {
    if (o.name === "set") {
      env.recent.add(name);
      result = true;
      negated = o.negated;
    } else if (o.name === "rcheck" || o.name === "update") {
      // A new connection has no entry unless this very walk set one.
      result = env.recent.has(name);
      negated = o.negated;
    } else if (o.name === "remove") {
      result = env.recent.delete(name);
      negated = o.negated;
    }
  }
  return typeof result === "boolean" && negated ? !result : result;
}

/**
 * Evaluate one match group. `statistic` decides `-m statistic --mode random` (the walker knows
 * which endpoint a Service choice follows); left undefined, a random statistic is undecidable.
 */
export function evaluateMatch(m: IptablesMatch, env: MatchEnv, statistic?: boolean): MatchVerdict {
  switch (m.module) {
    case "recent":
      return recent(m, env);
    case "statistic": {
      const mode = m.options.find((o) => o.name === "mode")?.args[0];
      if (mode === "random") {
        if (statistic === undefined) {
          const p = m.options.find((o) => o.name === "probability")?.args[0] ?? "?";
          return {
            unknown: `-m statistic --mode random --probability ${p} outside a Service endpoint choice`,
          };
        }
        const neg = m.options.some((o) => o.name === "probability" && o.negated);
        return neg ? !statistic : statistic;
      }
      if (mode === "nth") {
        // The first packet has counter 0: it matches when --packet is 0.
        const packet = Number(m.options.find((o) => o.name === "packet")?.args[0] ?? "0");
        return packet === 0;
      }
      return { unknown: `-m statistic --mode ${mode ?? "?"}` };
    }
    case "set": {
      for (const o of m.options) {
        if (o.name !== "match-set") continue;
        const r = matchIpset(o.args[0] ?? "", o.args[1] ?? "", env);
        if (typeof r !== "boolean") return r;
        if (r === o.negated) return false;
      }
      return true;
    }
    default:
      break;
  }
  const perOption = OPTION_EVALUATORS[m.module];
  if (!perOption) return { unknown: `-m ${m.module} (match module not modelled)` };
  for (const o of m.options) {
    const r = perOption(o, env);
    if (r === undefined) return unknown(m.module, o);
    if (typeof r !== "boolean") return r;
    if (r === o.negated) return false;
  }
  return true;
}

const always: OptionEval = () => true;

const OPTION_EVALUATORS: Readonly<Record<string, OptionEval>> = {
  "": baseOption,
  tcp: portOption("tcp"),
  udp: portOption("udp"),
  sctp: portOption("sctp"),
  multiport,
  comment: always,
  nfacct: always,
  limit: always,
  conntrack,
  state: conntrack,
  mark: (o, env) => (o.name === "mark" ? markMatches(env.mark, o.args[0] ?? "") : undefined),
  // The conntrack mark of a new connection is 0 until a rule sets it.
  connmark: (o, env) =>
    o.name === "mark" && env.ctx.ctState === "new" ? markMatches(0, o.args[0] ?? "") : undefined,
  addrtype: (o, env) => {
    if (o.name !== "dst-type" && o.name !== "src-type") return undefined;
    const addr = o.name === "dst-type" ? env.packet.dst : env.packet.src;
    const results = (o.args[0] ?? "").split(",").map((t) => addrType(addr, t, env.ctx));
    if (results.some((r) => r === undefined)) return undefined;
    return results.some((r) => r === true);
  },
  physdev,
  iprange: (o, env) => {
    if (o.name !== "src-range" && o.name !== "dst-range") return undefined;
    const addr = ipv4ToNumber(o.name === "src-range" ? env.packet.src : env.packet.dst);
    return addr === undefined ? undefined : inRange(addr, o.args[0] ?? "");
  },
  // ICMP types are not part of a trace's packet: only a non-ICMP packet is decided (no match).
  icmp: (_o, env) => (env.packet.protocol !== "icmp" ? false : undefined),
};

/** The first match of `rule` that cannot be decided, as the outcome's `unknown` text. */
export function describeUnknown(rule: IptablesRule, why: string): string {
  return `${rule.table}/${rule.chain} rule ${rule.index} (line ${rule.line}): ${why}`;
}

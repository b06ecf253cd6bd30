/**
 * Connection tracking as the trace needs it. The request creates an entry in every netns whose
 * netfilter it crosses (conntrack is per netns); the reply matches the entry of a netns by its reply
 * tuple, is ESTABLISHED there (nat chains are not consulted again), and gets the request's NAT undone
 * by nf_nat at the NAT priorities: the destination restored before routing (PREROUTING, OUTPUT:
 * priority -100) when the request was SNATed, the source restored after it (POSTROUTING, INPUT:
 * priority 100) when it was DNATed. A reply that meets no entry is INVALID (TCP, ICMP) or NEW (UDP).
 */
import type { NetnsState } from "../model/state.js";
import type { Packet } from "../model/trace.js";
import type { ConntrackEntry } from "../model/walk.js";
import { inNetns } from "./commands.js";
import { sameAddress } from "./ip.js";
import type { BaseChain, Hook, NetfilterContext, NetfilterStep } from "./netfilter/types.js";

/** The packet the other way: addresses and ports swapped. */
export function reversed(p: Packet): Packet {
  return {
    protocol: p.protocol,
    src: p.dst,
    dst: p.src,
    ...(p.dport !== undefined ? { sport: p.dport } : {}),
    ...(p.sport !== undefined ? { dport: p.sport } : {}),
  };
}

/** Same protocol, addresses and ports. */
export function samePacket(a: Packet, b: Packet): boolean {
  return (
    a.protocol === b.protocol &&
    sameAddress(a.src, b.src) &&
    sameAddress(a.dst, b.dst) &&
    a.sport === b.sport &&
    a.dport === b.dport
  );
}

/** "10.96.0.10:80", or the bare address for ICMP. */
export function endpointOf(p: Packet, side: "src" | "dst"): string {
  const port = side === "src" ? p.sport : p.dport;
  const addr = side === "src" ? p.src : p.dst;
  return port !== undefined ? `${addr}:${port}` : addr;
}

/** The conntrack state a reply has in a netns: ESTABLISHED with an entry, else what conntrack makes of it. */
export function replyCtState(entry: ConntrackEntry | undefined, p: Packet): NetfilterContext["ctState"] {
  if (entry) return "established";
  // A SYN-ACK or an echo reply without the request is INVALID; a UDP datagram starts a new entry.
  return p.protocol === "udp" ? "new" : "invalid";
}

/** The entries the request created on one node, as its reply meets them. */
export class ConntrackTable {
  constructor(readonly entries: readonly ConntrackEntry[]) {}

  /** The entry of `netns` whose reply tuple `p` has. */
  match(netns: string, p: Packet): ConntrackEntry | undefined {
    return this.entries.find((e) => e.netns === netns && samePacket(e.reply, p));
  }

  /** The entries of `netns` that translated the request. */
  natEntries(netns: string): ConntrackEntry[] {
    return this.entries.filter((e) => e.netns === netns && (e.dnat || e.snat));
  }
}

/** `conntrack -L` style: both tuples. */
export function formatEntry(e: ConntrackEntry): string {
  const tuple = (p: Packet) =>
    `src=${p.src} dst=${p.dst}${p.sport !== undefined ? ` sport=${p.sport}` : ""}${p.dport !== undefined ? ` dport=${p.dport}` : ""}`;
  return `${e.original.protocol} ${tuple(e.original)} ${tuple(e.reply)}${e.dnat ? " [DNAT]" : ""}${e.snat ? " [SNAT]" : ""}`;
}

function step(
  state: NetnsState,
  e: ConntrackEntry,
  action: "un-dnat" | "un-snat",
  packet: Packet,
): NetfilterStep {
  return {
    family: "conntrack",
    table: "conntrack",
    chain: action,
    action,
    evidence: { source: `conntrack entry of the request (hop ${e.hop})`, text: formatEntry(e) },
    command: inNetns(state, `conntrack -L -p ${e.original.protocol} --orig-dst ${e.original.dst}`),
    packet,
  };
}

/**
 * nf_nat's hook for a reply that matched `entry`, as a base chain at the NAT priority of `hook`:
 * the destination part of the request's SNAT undone before routing, the source part of its DNAT after.
 */
export function unNatChain(state: NetnsState, entry: ConntrackEntry, hook: Hook): BaseChain | undefined {
  const beforeRouting = hook === "prerouting" || hook === "output";
  const afterRouting = hook === "postrouting" || hook === "input";
  if (!((beforeRouting && entry.snat) || (afterRouting && entry.dnat))) return undefined;
  return {
    family: "conntrack",
    table: "conntrack",
    chain: beforeRouting ? "un-snat" : "un-dnat",
    priority: beforeRouting ? -100 : 100,
    type: "nat",
    evaluate(packet: Packet, ctx: NetfilterContext) {
      const o = entry.original;
      const next: Packet = beforeRouting
        ? { ...packet, dst: o.src, ...(o.sport !== undefined ? { dport: o.sport } : {}) }
        : { ...packet, src: o.dst, ...(o.dport !== undefined ? { sport: o.dport } : {}) };
      return {
        verdict: "accept",
        packet: next,
        mark: ctx.mark,
        steps: [step(state, entry, beforeRouting ? "un-snat" : "un-dnat", next)],
      };
    },
  };
}

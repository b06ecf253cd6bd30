/**
 * Runs one netfilter hook for the packet in one netns: the base chains of every family (iptables
 * via iptables-save, nftables tables that are not iptables-nft's) in priority order, carrying NAT
 * and the mark from one to the next, stopping at the first drop or reject. Pure.
 */
import type { NetnsState } from "../../model/state.js";
import type { Packet } from "../../model/trace.js";
import { iptablesBaseChains } from "./iptables/index.js";
import { nftBaseChains } from "./nftables/index.js";
import type { BaseChain, BaseChainSource, Hook, NetfilterContext, NetfilterStep } from "./types.js";

export interface HookOutcome {
  verdict: "accept" | "drop" | "reject";
  packet: Packet;
  mark: number;
  steps: NetfilterStep[];
  dnat: boolean;
  snat: boolean;
  /** What the evaluators could not decide, if anything. */
  unknown: string[];
}

const sourceCache = new WeakMap<NetnsState, BaseChainSource[]>();

/** The netfilter families present in a netns, built once per state. */
export function chainSources(state: NetnsState): BaseChainSource[] {
  const cached = sourceCache.get(state);
  if (cached) return cached;
  const sources: BaseChainSource[] = [];
  const { iptables, nftables, ipsets } = state.netfilter;
  if (iptables) sources.push(iptablesBaseChains(iptables, ipsets));
  if (nftables) sources.push(nftBaseChains(nftables));
  sourceCache.set(state, sources);
  return sources;
}

/** NAT base chains see only a connection's first packet; traces model that first packet. */
export function runHook(
  state: NetnsState,
  hook: Hook,
  packet: Packet,
  ctx: Omit<NetfilterContext, "hook">,
  /** Which base chains run; all by default (IPVS's transmit path leaves out nat OUTPUT). */
  include: (chain: BaseChain) => boolean = () => true,
): HookOutcome {
  const chains = chainSources(state)
    .flatMap((source) => source(hook))
    .filter(include);
  return runBaseChains(chains, hook, packet, ctx);
}

/**
 * Runs the base chains of one hook as netfilter does: by priority, the packet, mark and NAT state
 * carried from chain to chain, until a verdict other than accept.
 */
export function runBaseChains(
  chains: readonly BaseChain[],
  hook: Hook,
  packet: Packet,
  ctx: Omit<NetfilterContext, "hook">,
): HookOutcome {
  const out: HookOutcome = {
    verdict: "accept",
    packet,
    mark: ctx.mark,
    steps: [],
    dnat: false,
    snat: false,
    unknown: [],
  };
  let ctDnat = ctx.ctDnat;
  for (const chain of [...chains].sort((a, b) => a.priority - b.priority)) {
    const o = chain.evaluate(out.packet, { ...ctx, hook, mark: out.mark, ctDnat });
    out.steps.push(...o.steps);
    out.packet = o.packet;
    out.mark = o.mark;
    if (o.dnat) {
      out.dnat = true;
      ctDnat = true;
    }
    if (o.snat) out.snat = true;
    if (o.unknown) out.unknown.push(o.unknown);
    if (o.verdict !== "accept") {
      out.verdict = o.verdict;
      break;
    }
  }
  return out;
}

/**
 * Steps worth showing as hops: a base chain whose only step is its own ACCEPT policy (nothing
 * matched) says nothing about the path and is left out.
 */
export function visibleSteps(steps: readonly NetfilterStep[]): NetfilterStep[] {
  return steps.filter((s, i) => {
    if (s.action !== "policy" || !/ACCEPT|accept/.test(s.evidence.text)) return true;
    const prev = steps[i - 1];
    return prev !== undefined && prev.chain === s.chain && prev.table === s.table;
  });
}

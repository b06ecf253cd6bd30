/**
 * Walks one nftables base chain for a packet: rules in order, jump/goto/return between chains, the
 * chain policy at the end. Bounded: at most MAX_DEPTH nested jumps and MAX_RULES rule evaluations,
 * so a malformed model cannot loop (the kernel refuses loops at load time).
 */
import type { NftChain, NftTable } from "../../../model/nftables.js";
import type { Packet } from "../../../model/trace.js";
import type { ChainOutcome, NetfilterContext } from "../types.js";
import { chainCommand, chainSource, runRule, type Walk } from "./rule.js";

/** Deepest jump/goto nesting followed. */
export const MAX_DEPTH = 64;
/** Most rules evaluated in one base chain. */
export const MAX_RULES = 100_000;

type ChainEnd =
  | { kind: "verdict"; verdict: "accept" | "drop" | "reject" }
  | { kind: "return" }
  | { kind: "abort"; reason: string };

interface Budget {
  rules: number;
}

function runChain(w: Walk, chain: NftChain, depth: number, budget: Budget): ChainEnd {
  if (depth > MAX_DEPTH)
    return { kind: "abort", reason: `jump depth exceeds ${MAX_DEPTH} at chain ${chain.name}` };
  for (const rule of chain.rules) {
    if (++budget.rules > MAX_RULES) {
      return {
        kind: "abort",
        reason: `more than ${MAX_RULES} rules evaluated (at ${chain.name} rule ${rule.index})`,
      };
    }
    const r = runRule(w, chain, rule);
    if (r.kind === "next") continue;
    if (r.kind === "verdict" || r.kind === "return") return r;
    const target = w.table.chains.get(r.target);
    if (!target) return { kind: "abort", reason: `${r.kind} to missing chain ${r.target}` };
    const end = runChain(w, target, depth + 1, budget);
    if (end.kind !== "return") return end;
    // jump: the called chain returned, continue after the jump; goto: return to our own caller.
    if (r.kind === "goto") return end;
  }
  return { kind: "return" };
}

/** Evaluates `base` (a base chain of `table`) on the packet as the kernel would on that hook. */
export function evaluateBaseChain(
  table: NftTable,
  base: NftChain,
  packet: Packet,
  ctx: NetfilterContext,
): ChainOutcome {
  const w: Walk = { table, packet, ctx, mark: ctx.mark, steps: [], dnat: false, snat: false, unknown: [] };
  const end = runChain(w, base, 0, { rules: 0 });
  let verdict: ChainOutcome["verdict"];
  if (end.kind === "verdict") verdict = end.verdict;
  else if (end.kind === "abort") {
    w.unknown.push(end.reason);
    verdict = "accept";
  } else {
    const policy = base.policy ?? "accept";
    verdict = policy;
    w.steps.push({
      family: "nftables",
      table: `${table.family} ${table.name}`,
      chain: base.name,
      action: "policy",
      evidence: {
        source: chainSource(table, base.name),
        text: `type ${base.type ?? "filter"} hook ${base.hook ?? "?"} priority ${base.prio ?? 0}; policy ${policy};`,
      },
      command: chainCommand(table, base.name),
    });
  }
  const out: ChainOutcome = { verdict, packet: w.packet, mark: w.mark, steps: w.steps };
  if (w.dnat) out.dnat = true;
  if (w.snat) out.snat = true;
  if (w.unknown.length > 0) out.unknown = w.unknown.join("; ");
  return out;
}

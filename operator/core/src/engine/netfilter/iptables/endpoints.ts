/**
 * kube-proxy's endpoint choice in iptables mode: a KUBE-SVC-/KUBE-SVL- chain jumps to one
 * KUBE-SEP- chain per endpoint, each jump guarded by `-m statistic --mode random --probability p`
 * except the last. Rule i is taken with p_i × Π_{j<i}(1 − p_j); the last gets what remains. So
 * 0.33333333349, 0.5, (none) gives every endpoint 1/3.
 */
import type { IptablesChain, IptablesRule, IptablesTable } from "../../../model/iptables.js";
import type { EndpointChoice, SessionAffinity } from "../../../model/trace.js";
import { affinityOf } from "./affinity.js";
import { evaluateMatch, type MatchEnv } from "./match.js";

/** The endpoints a chain chooses between, and which rule the trace follows. */
export interface EndpointPlan {
  /** Endpoint per candidate rule index (1-based, as IptablesRule.index). */
  byRule: Map<number, EndpointChoice>;
  endpoints: EndpointChoice[];
  /** Rule index of the chosen endpoint. */
  chosenRule: number;
  /** Set when ctx.endpoint names no endpoint of this chain. */
  problem?: string;
  /** The Service's session affinity (`-m recent` rules), when it has one. */
  affinity?: SessionAffinity;
}

function isRandomStatistic(rule: IptablesRule): boolean {
  return rule.matches.some(
    (m) => m.module === "statistic" && m.options.some((o) => o.name === "mode" && o.args[0] === "random"),
  );
}

function probabilityOf(rule: IptablesRule): number | undefined {
  for (const m of rule.matches) {
    if (m.module !== "statistic") continue;
    const p = m.options.find((o) => o.name === "probability")?.args[0];
    if (p !== undefined) return Number(p);
  }
  return undefined;
}

/** The DNAT destination of an endpoint chain ("10.244.1.5:8080"), if it has one. */
export function dnatDestination(chain: IptablesChain): string | undefined {
  for (const r of chain.rules) {
    if (r.target?.name !== "DNAT") continue;
    return r.target.options.find((o) => o.name === "to-destination")?.args[0];
  }
  return undefined;
}

/**
 * Plan the endpoint choice of `chain` for this packet, or undefined when the chain is not a
 * Service's endpoint choice. Candidates are the rules (without `-m recent`, i.e. not the affinity
 * rules) that jump to a chain with a DNAT and whose other matches hold for the packet.
 */
export function planEndpoints(
  table: IptablesTable,
  chain: IptablesChain,
  env: MatchEnv,
  wanted: number | string | undefined,
): EndpointPlan | undefined {
  if (!/^KUBE-(SVC|SVL)-/.test(chain.name) && !chain.rules.some(isRandomStatistic)) return undefined;
  const found: { rule: IptablesRule; p: number | undefined; address: string; via: string }[] = [];
  for (const rule of chain.rules) {
    const target = rule.target?.name;
    if (!target || rule.matches.some((m) => m.module === "recent")) continue;
    const sep = table.chain(target);
    const address = sep ? dnatDestination(sep) : undefined;
    if (!sep || address === undefined) continue;
    const holds = rule.matches.every((m) => m.module === "statistic" || evaluateMatch(m, env) === true);
    if (!holds) continue;
    found.push({
      rule,
      p: isRandomStatistic(rule) ? probabilityOf(rule) : undefined,
      address,
      via: sep.name,
    });
  }
  if (found.length === 0) return undefined;

  let remaining = 1;
  const endpoints: EndpointChoice[] = found.map((f) => {
    let probability: number;
    if (f.p !== undefined) {
      probability = f.p * remaining;
      remaining *= 1 - f.p;
    } else {
      probability = remaining;
      remaining = 0;
    }
    return { address: f.address, probability, via: f.via, chosen: false };
  });

  let chosen = endpoints.findIndex((e) => e.probability > 0);
  let problem: string | undefined;
  if (wanted !== undefined) {
    const i =
      typeof wanted === "number"
        ? wanted < endpoints.length
          ? wanted
          : -1
        : endpoints.findIndex((e) => e.address === wanted || e.address.split(":")[0] === wanted);
    if (i >= 0) chosen = i;
    else {
      problem = `endpoint ${wanted} is not one of ${chain.name}'s endpoints (${endpoints.map((e) => e.address).join(", ")}); following ${endpoints[chosen]?.address ?? "none"}`;
    }
  }
  if (chosen < 0) chosen = 0;
  (endpoints[chosen] as EndpointChoice).chosen = true;
  const byRule = new Map<number, EndpointChoice>();
  found.forEach((f, i) => {
    byRule.set(f.rule.index, endpoints[i] as EndpointChoice);
  });
  const plan: EndpointPlan = {
    byRule,
    endpoints,
    chosenRule: (found[chosen] as { rule: IptablesRule }).rule.index,
  };
  if (problem) plan.problem = problem;
  const affinity = affinityOf(table, chain, found[chosen]?.via, env.packet.src);
  if (affinity) plan.affinity = affinity;
  return plan;
}

/**
 * kube-proxy's ClientIP session affinity in iptables mode. Ahead of the random cascade, the
 * KUBE-SVC-/KUBE-SVL- chain has one rule per endpoint
 *
 *   -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-X --mask 255.255.255.255 --rsource -j KUBE-SEP-X
 *
 * and KUBE-SEP-X's DNAT rule carries `-m recent --set --name KUBE-SEP-X … --rsource`, which records
 * the client's source address. A connection's first packet matches no --rcheck rule (its source is
 * in no list yet), takes the random cascade, and its DNAT rule records it: later connections from
 * the same source go to the same endpoint until N seconds pass without one.
 */
import type { IptablesChain, IptablesMatch, IptablesRule, IptablesTable } from "../../../model/iptables.js";
import type { Evidence, SessionAffinity } from "../../../model/trace.js";
import { evidenceSource } from "./evidence.js";

function recentMatch(rule: IptablesRule): IptablesMatch | undefined {
  return rule.matches.find((m) => m.module === "recent");
}

function hasOption(m: IptablesMatch, name: string): boolean {
  return m.options.some((o) => o.name === name && !o.negated);
}

/** `--seconds N` of an `--rcheck`/`--update` match: the affinity timeout. */
function checkSeconds(rule: IptablesRule): number | undefined {
  const m = recentMatch(rule);
  if (!m || !(hasOption(m, "rcheck") || hasOption(m, "update"))) return undefined;
  const seconds = Number(m.options.find((o) => o.name === "seconds")?.args[0]);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : undefined;
}

function evidenceOf(table: IptablesTable, rule: IptablesRule): Evidence {
  return { source: evidenceSource(table, rule.chain), text: rule.text, line: rule.line };
}

/**
 * The session affinity of Service chain `chain`, or undefined when it has none: its --rcheck rules
 * that jump to an endpoint chain, and the `--set` rule of `chosen` (the endpoint chain the trace
 * follows). `client` is the source address the rules remember (`--rsource`).
 */
export function affinityOf(
  table: IptablesTable,
  chain: IptablesChain,
  chosen: string | undefined,
  client: string,
): SessionAffinity | undefined {
  const checks = chain.rules.filter(
    (r) => checkSeconds(r) !== undefined && r.target !== undefined && table.chain(r.target.name),
  );
  const first = checks[0];
  const timeoutSeconds = first ? checkSeconds(first) : undefined;
  if (timeoutSeconds === undefined) return undefined;
  const evidence = checks.map((r) => evidenceOf(table, r));
  const sep = chosen !== undefined ? table.chain(chosen) : undefined;
  const set = sep?.rules.find((r) => {
    const m = recentMatch(r);
    return m !== undefined && hasOption(m, "set");
  });
  if (set) evidence.push(evidenceOf(table, set));
  return { mode: "ClientIP", timeoutSeconds, client, evidence };
}

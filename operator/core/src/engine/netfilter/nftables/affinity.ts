/**
 * kube-proxy's ClientIP session affinity in nftables mode. One set per endpoint,
 *
 *   set affinity-X { type ipv4_addr; flags timeout; timeout 3h; }
 *
 * in the service chain, ahead of the numgen vmap, one rule per endpoint
 *
 *   ip saddr @affinity-X goto endpoint-X
 *
 * and in endpoint-X, before its dnat, `update @affinity-X { ip saddr }`, which records the client.
 * A connection's first packet is in no affinity set, takes the numgen choice, and its endpoint
 * chain records it: later connections from the same source go to the same endpoint until the
 * element times out (each new connection renews it).
 */
import type { NftChain, NftRule, NftSet, NftTable } from "../../../model/nftables.js";
import type { Evidence, SessionAffinity } from "../../../model/trace.js";
import { isObject, objectAt, stringAt } from "../../../parsers/nftables/narrow.js";
import { formatDuration } from "../../../parsers/nftables/render.js";

/** Where a set or a chain's rules were read from, for evidence. */
function source(table: NftTable, object: { chain: string } | { set: string }): string {
  return table.evidenceSource?.(object) ?? "nft -j list ruleset";
}

/** The timeout set a rule checks the packet's source against (`ip saddr @affinity-X`), if any. */
function checkedSet(rule: NftRule, table: NftTable): NftSet | undefined {
  for (const stmt of rule.expr) {
    const m = objectAt(stmt, "match");
    const left = m && isObject(m.left) ? objectAt(m.left, "payload") : undefined;
    if (!m || !left || stringAt(left, "field") !== "saddr" || (stringAt(m, "op") ?? "==") === "!=") continue;
    const right = m.right;
    if (typeof right !== "string" || !right.startsWith("@")) continue;
    const set = table.sets.get(right.slice(1));
    if (set?.timeout !== undefined) return set;
  }
  return undefined;
}

/** True for a rule with `update @name { … }` (or `add`): it records the packet in set `name`. */
function updatesSet(rule: NftRule, name: string): boolean {
  return rule.expr.some((stmt) => {
    const s = objectAt(stmt, "set");
    const op = s ? stringAt(s, "op") : undefined;
    return s !== undefined && (op === "update" || op === "add") && stringAt(s, "set") === `@${name}`;
  });
}

/** The set's declaration as `nft list set` shows it, on one line. */
function declaration(set: NftSet): string {
  const type = Array.isArray(set.type) ? set.type.join(" . ") : set.type;
  const flags = set.flags.length > 0 ? ` flags ${set.flags.join(",")};` : "";
  const timeout = set.timeout !== undefined ? ` timeout ${formatDuration(set.timeout)};` : "";
  return `set ${set.name} { type ${type};${flags}${timeout} }`;
}

/**
 * The session affinity of service chain `chain`, or undefined when it has none: its
 * `ip saddr @affinity-…` rules, the affinity set of `chosen` (the endpoint chain the trace follows)
 * and the rule of that chain that records the client. `client` is the packet's source address.
 */
export function affinityOf(
  table: NftTable,
  chain: NftChain,
  chosen: string | undefined,
  client: string,
): SessionAffinity | undefined {
  const checks = chain.rules.flatMap((rule) => {
    const set = checkedSet(rule, table);
    return set ? [{ rule, set }] : [];
  });
  const first = checks[0];
  if (!first) return undefined;
  const endpoint = chosen !== undefined ? table.chains.get(chosen) : undefined;
  const recorder = endpoint?.rules
    .map((rule) => ({ rule, set: checks.find((c) => updatesSet(rule, c.set.name))?.set }))
    .find((r) => r.set !== undefined);
  const set = recorder?.set ?? first.set;
  const evidence: Evidence[] = [
    { source: source(table, { set: set.name }), text: declaration(set) },
    ...checks.map((c) => ({ source: source(table, { chain: chain.name }), text: c.rule.text })),
  ];
  if (recorder)
    evidence.push({ source: source(table, { chain: recorder.rule.chain }), text: recorder.rule.text });
  return { mode: "ClientIP", timeoutSeconds: set.timeout ?? 0, client, evidence };
}

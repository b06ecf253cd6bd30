/**
 * The nftables side of the netfilter contract: the base chains registered on a hook, from
 * `nft -j list ruleset`.
 *
 * Which tables: family `ip` and `inet` (the families an IPv4 packet traverses; `ip6`, `arp`,
 * `bridge` and `netdev` tables are not on its way through the IPv4 hooks). Tables created by
 * iptables-nft are SKIPPED: a family ip/ip6 table named filter/nat/mangle/raw/security whose rules
 * contain `xt` expressions (iptables matches/targets the nft JSON cannot express) or whose base
 * chains all carry iptables' built-in names (PREROUTING, INPUT, …). Those rules are what
 * `iptables-save` prints, and the iptables evaluator walks them from there; evaluating them here
 * too would run every iptables rule twice.
 */
import type { NftRuleset, NftTable } from "../../../model/nftables.js";
import { hookedChains } from "../../../parsers/nftables/lazy-chains.js";
import { isIptablesNftShape } from "../../../parsers/nftables/tables.js";
import type { BaseChain, BaseChainSource, Hook } from "../types.js";
import { evaluateBaseChain } from "./evaluate.js";

/** True for a table that iptables-nft manages (see the module comment and isIptablesNftShape). */
export function isIptablesNftTable(table: NftTable): boolean {
  const { family, name } = table;
  // Family and name first: the chains (parsed on demand) are only looked at for ip/ip6 filter/nat/….
  if (!isIptablesNftShape({ family, name, baseChains: [], hasXt: true })) return false;
  const chains = [...table.chains.values()];
  const baseChains = chains.filter((c) => c.hook !== undefined).map((c) => c.name);
  const hasXt = chains.some((c) => c.rules.some((r) => r.expr.some((e) => "xt" in e)));
  return isIptablesNftShape({ family, name, baseChains, hasXt });
}

/** Base chains on `hook` from the ip/inet tables of the ruleset, ready to evaluate, unsorted. */
export function nftBaseChains(ruleset: NftRuleset): BaseChainSource {
  const tables = ruleset.tables.filter(
    (t) => (t.family === "ip" || t.family === "inet") && !isIptablesNftTable(t),
  );
  return (hook: Hook): BaseChain[] =>
    tables.flatMap((table) =>
      hookedChains(table)
        .filter((c) => c.hook === hook)
        .map(
          (chain): BaseChain => ({
            family: "nftables",
            table: `${table.family} ${table.name}`,
            chain: chain.name,
            priority: chain.prio ?? 0,
            type: chain.type ?? "filter",
            evaluate: (packet, ctx) => evaluateBaseChain(table, chain, packet, ctx),
          }),
        ),
    );
}

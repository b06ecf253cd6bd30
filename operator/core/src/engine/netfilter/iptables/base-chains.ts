/**
 * The iptables side of the netfilter contract: for each hook, the built-in chains iptables
 * registers there, with the kernel's priorities (NF_IP_PRI_*), each ready to evaluate a packet.
 */
import type { IptablesChain, IptablesRuleset, IptablesTableName } from "../../../model/iptables.js";
import type { IpSet } from "../../../model/ipvs.js";
import type { Packet } from "../../../model/trace.js";
import type { BaseChain, BaseChainSource, ChainOutcome, Hook, NetfilterContext } from "../types.js";
import { ipsetsByName } from "./ipset-match.js";
import { walkBaseChain } from "./walk.js";

interface Registration {
  table: IptablesTableName;
  chain: string;
  priority: number;
  type: BaseChain["type"];
}

/** Which table's built-in chain sits on which hook, at which priority (include/uapi/linux/netfilter_ipv4.h). */
export const IPTABLES_HOOKS: Readonly<Record<Hook, readonly Registration[]>> = {
  prerouting: [
    { table: "raw", chain: "PREROUTING", priority: -300, type: "filter" },
    { table: "mangle", chain: "PREROUTING", priority: -150, type: "filter" },
    { table: "nat", chain: "PREROUTING", priority: -100, type: "nat" },
  ],
  input: [
    { table: "mangle", chain: "INPUT", priority: -150, type: "filter" },
    { table: "filter", chain: "INPUT", priority: 0, type: "filter" },
    { table: "security", chain: "INPUT", priority: 50, type: "filter" },
    { table: "nat", chain: "INPUT", priority: 100, type: "nat" },
  ],
  forward: [
    { table: "mangle", chain: "FORWARD", priority: -150, type: "filter" },
    { table: "filter", chain: "FORWARD", priority: 0, type: "filter" },
    { table: "security", chain: "FORWARD", priority: 50, type: "filter" },
  ],
  output: [
    { table: "raw", chain: "OUTPUT", priority: -300, type: "filter" },
    { table: "mangle", chain: "OUTPUT", priority: -150, type: "route" },
    { table: "nat", chain: "OUTPUT", priority: -100, type: "nat" },
    { table: "filter", chain: "OUTPUT", priority: 0, type: "filter" },
    { table: "security", chain: "OUTPUT", priority: 50, type: "filter" },
  ],
  postrouting: [
    { table: "mangle", chain: "POSTROUTING", priority: -150, type: "filter" },
    { table: "nat", chain: "POSTROUTING", priority: 100, type: "nat" },
  ],
};

/**
 * The iptables base chains of `ruleset` per hook. Only chains the dump has are returned. nat
 * chains see only a connection's first packet: for ctState other than "new" they accept without
 * steps. `ipsets` (from `ipset save`) let `-m set --match-set` rules be decided; without them
 * such rules are reported as unknown.
 */
export function iptablesBaseChains(ruleset: IptablesRuleset, ipsets?: readonly IpSet[]): BaseChainSource {
  const sets = ipsetsByName(ipsets);
  return (hook: Hook): BaseChain[] => {
    const out: BaseChain[] = [];
    for (const reg of IPTABLES_HOOKS[hook]) {
      const table = ruleset.tables.get(reg.table);
      // chain() parses (once) only this built-in chain; chainNames() would copy every name.
      if (!table?.chain(reg.chain)) continue;
      out.push({
        family: "iptables",
        table: reg.table,
        chain: reg.chain,
        priority: reg.priority,
        type: reg.type,
        evaluate(packet: Packet, ctx: NetfilterContext): ChainOutcome {
          if (reg.type === "nat" && ctx.ctState !== "new") {
            return { verdict: "accept", packet, mark: ctx.mark, steps: [] };
          }
          const chain = table.chain(reg.chain) as IptablesChain;
          return walkBaseChain(table, reg.table, chain, {
            packet,
            ctx,
            mark: ctx.mark,
            dnat: ctx.ctDnat,
            snat: false,
            ipsets: sets,
            recent: new Set(),
          });
        },
      });
    }
    return out;
  };
}

/**
 * Skimming a long chain: KUBE-SERVICES on a 10k-Service node has 10k rules, each for one
 * `-d CLUSTER-IP/32 … --dport PORT`. A rule whose plain (not negated) `-d A.B.C.D[/32]` or
 * `--dport N` differs from the packet cannot match, so its line need not be parsed at all. The
 * walk over the remaining rules is the same walk: only rules that cannot match are left out.
 */
import type { IptablesChain, IptablesRule, IptablesTable } from "../../../model/iptables.js";
import type { Packet } from "../../../model/trace.js";

/** A table that can give a chain's rules selectively (the lazy iptables-save table can). */
export interface SkimmableTable extends IptablesTable {
  chainHeader(name: string): { chain: IptablesChain; ruleCount: number } | undefined;
  rulesWhere(name: string, keep: (line: string) => boolean): IptablesRule[] | undefined;
}

export function isSkimmable(t: IptablesTable): t is SkimmableTable {
  const s = t as Partial<SkimmableTable>;
  return typeof s.chainHeader === "function" && typeof s.rulesWhere === "function";
}

const DST_RE = /(?:^|\s)(!\s+)?-d\s+(\d{1,3}(?:\.\d{1,3}){3})(?:\/32)?(?=\s|$)/;
const DPORT_RE = /(?:^|\s)(!\s+)?--dport\s+(\d+)(?=\s|$)/;
const QUOTED_RE = /"(?:[^"\\]|\\.)*"/g;

/** A test on a rule's dump line: false only when the rule certainly cannot match `packet`. */
export function mayMatch(packet: Packet): (line: string) => boolean {
  return (line) => {
    const bare = line.includes('"') ? line.replace(QUOTED_RE, '""') : line;
    const d = DST_RE.exec(bare);
    if (d && !d[1] && d[2] !== packet.dst) return false;
    const p = DPORT_RE.exec(bare);
    if (p && !p[1] && Number(p[2]) !== packet.dport) return false;
    return true;
  };
}

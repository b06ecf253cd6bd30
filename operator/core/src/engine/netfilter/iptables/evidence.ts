import type { IptablesTable } from "../../../model/iptables.js";

/** Where a chain's rules were read from, for evidence (see IptablesTable.evidenceSource). */
export function evidenceSource(table: IptablesTable, chain: string): string {
  return table.evidenceSource?.(chain) ?? "iptables-save";
}

/**
 * `iptables [-t TABLE] -S [CHAIN] [-v]` output → IptablesRuleset with one table. Same rule syntax as
 * iptables-save; chains come from `-P CHAIN POLICY` (built-in) and `-N CHAIN` lines, there are no
 * table headers, and `-v` adds `-c packets bytes`.
 */
import type { IptablesTableName } from "../../model/iptables.js";
import { ParseError } from "../errors.js";
import { type IptablesChainDeclaration, LazyIptablesTable } from "./lazy-table.js";
import type { LazyIptablesRuleset } from "./save.js";

const SOURCE = "iptables -S";

const DECL_RE = /^-([PN])\s+(\S+)(?:\s+(\S+))?(?:\s+-c\s+(\d+)\s+(\d+))?\s*$/;

function parseSDeclaration(text: string, line: number, source: string): IptablesChainDeclaration {
  const m = DECL_RE.exec(text);
  if (!m)
    throw new ParseError(source, line, "bad chain line: expected '-P CHAIN POLICY' or '-N CHAIN'", text);
  const decl: IptablesChainDeclaration = {};
  if (m[1] === "P") {
    if (m[3] !== "ACCEPT" && m[3] !== "DROP") {
      throw new ParseError(source, line, `bad policy "${m[3] ?? ""}": expected ACCEPT or DROP`, text);
    }
    decl.policy = m[3];
  }
  if (m[4] !== undefined && m[5] !== undefined)
    decl.counters = { packets: Number(m[4]), bytes: Number(m[5]) };
  return decl;
}

/**
 * Parse `iptables -t TABLE -S` output for `table`. A rule for a chain no `-N`/`-P` line declared
 * (other than a built-in chain) throws ParseError with the line. `source` names the command in
 * errors (default "iptables -S"; e.g. "iptables -t nat -S KUBE-SERVICES -v").
 */
export function parseIptablesS(text: string, table: IptablesTableName, source = SOURCE): LazyIptablesRuleset {
  const t = new LazyIptablesTable(table, 0, text, source, (decl, line) =>
    parseSDeclaration(decl, line, source),
  );
  const len = text.length;
  let pos = 0;
  let line = 0;
  while (pos < len) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = len;
    line++;
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    const lineText = text.slice(pos, end);
    const m = /^-([PNA])\s*(\S+)/.exec(lineText);
    if (m) {
      const name = m[2] as string;
      if (m[1] === "A") {
        const idx = t.chainIndex(name, line);
        if (idx === undefined) {
          throw new ParseError(
            source,
            line,
            `rule for chain ${name}, which no '-N ${name}' line declares before it (list the whole table with iptables -t ${table} -S)`,
            lineText,
          );
        }
        t.addRule(idx, pos, line);
      } else if (t.declare(name, pos, line) < 0) {
        throw new ParseError(source, line, `chain ${name} is declared twice`, lineText);
      }
    } else if (lineText.trim() !== "") {
      throw new ParseError(source, line, "not an iptables -S line (expected -P, -N or -A)", lineText);
    }
    pos = nl + 1;
  }
  const tables = new Map([[table, t]]);
  return {
    tables,
    stats: () => ({ ...t.stats }),
  };
}

/**
 * One `-A CHAIN …` line of iptables-save / iptables -S → IptablesRule: counters, base match
 * (-s/-d/-p/-i/-o/-f), `-m module` groups with their options, `!` negation, and the -j/-g target
 * with its options.
 */
import type {
  IptablesMatch,
  IptablesOption,
  IptablesRule,
  IptablesTableName,
  IptablesTarget,
  PacketCounters,
} from "../../model/iptables.js";
import { ParseError } from "../errors.js";
import { type IptablesToken, IptablesTokenizeError, tokenizeIptables } from "./tokenize.js";

/** Long spellings of the options iptables-save prints short, normalized to the short name. */
const ALIASES: Readonly<Record<string, string>> = {
  source: "s",
  src: "s",
  destination: "d",
  dst: "d",
  protocol: "p",
  "in-interface": "i",
  "out-interface": "o",
  fragment: "f",
  jump: "j",
  goto: "g",
  match: "m",
  append: "A",
  "set-counters": "c",
};

/** Options of the implicit base match (struct ipt_ip), wherever they appear on the line. */
const BASE_OPTIONS = new Set(["s", "d", "p", "i", "o", "f"]);

/** Short options that take one argument, which getopt also accepts glued on (`-jKUBE-SEP-X`). */
const SHORT_WITH_ARG = new Set(["A", "m", "j", "g", "s", "d", "p", "i", "o"]);

const COUNTERS_RE = /^\[(\d+):(\d+)\]$/;

/** Where a rule line sits, for errors and for the IptablesRule it becomes. */
export interface IptablesRuleLocation {
  table: IptablesTableName;
  /** 1-based index in its chain. */
  index: number;
  /** 1-based line in the dump. */
  line: number;
  /** The tool whose output this is, for ParseError ("iptables-save", "iptables -S"). */
  source: string;
}

function isOptionToken(tok: IptablesToken): boolean {
  if (tok.quoted) return false;
  const v = tok.value;
  if (v.length < 2 || v.charCodeAt(0) !== 45 /* - */) return false;
  const c1 = v.charCodeAt(1);
  return !(c1 >= 48 && c1 <= 57); // "-1" is an argument, not an option
}

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Parse one rule line (`[p:b] -A CHAIN …`, or `-A CHAIN … -c p b …` from `iptables -S -v`).
 * Throws ParseError naming the line when the line is not a well-formed rule.
 */
export function parseIptablesRule(text: string, loc: IptablesRuleLocation): IptablesRule {
  const fail = (detail: string): never => {
    throw new ParseError(loc.source, loc.line, detail, text);
  };
  let tokens: IptablesToken[];
  try {
    tokens = tokenizeIptables(text);
  } catch (e) {
    if (e instanceof IptablesTokenizeError) return fail(e.message);
    throw e;
  }

  let pos = 0;
  let counters: PacketCounters | undefined;
  const first = tokens[0];
  if (first && !first.quoted && first.value.startsWith("[")) {
    const m = COUNTERS_RE.exec(first.value);
    if (!m) return fail(`bad counters ${first.value}: expected [packets:bytes]`);
    counters = { packets: Number(m[1]), bytes: Number(m[2]) };
    pos = 1;
  }
  const cmd = tokens[pos];
  let chain: string | undefined;
  if (cmd?.value === "-A") {
    chain = tokens[pos + 1]?.value;
    pos += 2;
  } else if (cmd?.value.startsWith("-A") && cmd.value.length > 2) {
    chain = cmd.value.slice(2);
    pos += 1;
  } else {
    return fail(
      `expected "-A CHAIN …" but got "${cmd?.value ?? ""}": only appended rules (a save dump) are understood; ` +
        "-I/-D/-R/-N/-X lines of a hand-written restore script are not",
    );
  }
  if (!chain) return fail("-A without a chain name");

  let base: IptablesMatch | undefined;
  const matches: IptablesMatch[] = [];
  let current: IptablesMatch | undefined;
  let implicit: IptablesMatch | undefined;
  let protocol: string | undefined;
  let target: IptablesTarget | undefined;
  let last: IptablesOption | undefined;
  let pendingNeg = false;

  const takeArg = (k: number, what: string): string => {
    const t = tokens[k];
    if (!t) return fail(`${what} needs an argument`);
    return t.value;
  };

  for (let k = pos; k < tokens.length; k++) {
    const tok = tokens[k] as IptablesToken;
    if (!tok.quoted && tok.value === "!") {
      const next = tokens[k + 1];
      if (next && isOptionToken(next)) pendingNeg = true;
      else if (last && last.args.length === 0)
        last.negated = true; // old syntax: --opt ! value
      else return fail(`"!" must stand before an option (at column ${tok.start + 1})`);
      continue;
    }
    if (!isOptionToken(tok)) {
      if (!last) return fail(`unexpected argument "${tok.value}" (at column ${tok.start + 1})`);
      last.args.push(tok.value);
      continue;
    }
    let name: string;
    let attached: string | undefined;
    if (tok.value.startsWith("--")) {
      name = tok.value.slice(2);
    } else {
      name = tok.value[1] as string;
      if (tok.value.length > 2) {
        if (!SHORT_WITH_ARG.has(name)) return fail(`unknown option ${tok.value}`);
        attached = tok.value.slice(2);
      }
    }
    name = ALIASES[name] ?? name;
    const negated = pendingNeg;
    pendingNeg = false;

    if (name === "m") {
      const module = attached ?? takeArg(++k, "-m");
      current = { module, options: [] };
      matches.push(current);
      last = undefined;
      continue;
    }
    if (name === "j" || name === "g") {
      const tname = attached ?? takeArg(++k, `-${name}`);
      target = { name: tname, options: [], goto: name === "g" };
      last = undefined;
      continue;
    }
    if (name === "c") {
      const p = parseNumber(tokens[k + 1]?.value);
      const b = parseNumber(tokens[k + 2]?.value);
      if (p === undefined || b === undefined) return fail("-c needs two numbers: packets bytes");
      counters = { packets: p, bytes: b };
      k += 2;
      last = undefined;
      continue;
    }
    const opt: IptablesOption = { name, negated, args: attached !== undefined ? [attached] : [] };
    last = opt;
    if (target) {
      target.options.push(opt);
    } else if (BASE_OPTIONS.has(name)) {
      if (!base) base = { module: "", options: [] };
      base.options.push(opt);
      if (name === "p") {
        // The protocol is the next argument; remember it for protocol options without -m.
        const p = attached ?? tokens[k + 1]?.value;
        if (p !== undefined) protocol = p.toLowerCase();
      }
    } else if (current) {
      current.options.push(opt);
    } else {
      // `-p tcp --dport 80` without `-m tcp`: iptables loads the protocol's match implicitly.
      if (!implicit) {
        implicit = { module: protocol ?? "", options: [] };
        matches.push(implicit);
      }
      implicit.options.push(opt);
    }
  }
  if (pendingNeg) return fail('a trailing "!" negates nothing');

  // Unquoted multi-word comments (as some golden files write them) become one argument. Arrays
  // grown by push keep spare capacity; exact-size copies keep a 10k-rule chain small in memory.
  let comment: string | undefined;
  for (const m of base ? [base, ...matches] : matches) {
    for (const o of m.options) {
      o.args = o.name === "comment" && o.args.length > 1 ? [o.args.join(" ")] : o.args.slice();
      if (m.module === "comment" && o.name === "comment" && comment === undefined) comment = o.args[0];
    }
    m.options = m.options.slice();
  }
  if (target) {
    for (const o of target.options) o.args = o.args.slice();
    target.options = target.options.slice();
  }

  const rule: IptablesRule = {
    table: loc.table,
    chain,
    index: loc.index,
    line: loc.line,
    text,
    matches: base ? [base, ...matches] : matches.slice(),
  };
  if (counters) rule.counters = counters;
  if (target) rule.target = target;
  if (comment !== undefined) rule.comment = comment;
  return rule;
}

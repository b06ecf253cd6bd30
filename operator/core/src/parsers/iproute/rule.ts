/** `ip -j rule show` and the text form `ip rule` → PolicyRule[]. */
import { sourceCommand, textSourceCommand } from "../../capture/sources.js";
import type { PolicyRule, RuleAction } from "../../model/route.js";
import { ParseError } from "../errors.js";
import { Fields, parseJsonArray } from "./json.js";
import { familyOf, normalizePrefix, parseIntStrict, Tokens, textLines, tokens } from "./text.js";

const TERMINAL_ACTIONS: readonly RuleAction[] = ["blackhole", "unreachable", "prohibit", "nop"];

function isTerminal(s: string): s is RuleAction {
  return (TERMINAL_ACTIONS as readonly string[]).includes(s);
}

/**
 * Parse `ip -j rule show`. "all" selectors are stored as undefined, prefixes always carry a length,
 * the family is IPv6 when a selector is an IPv6 prefix (the command lists IPv4 rules by default).
 */
export function parseIpRuleJson(text: string): PolicyRule[] {
  const source = sourceCommand("ip-rule");
  return parseJsonArray(text, source).map((el) => {
    const f: Fields = new Fields(el, source);
    const src = selector(f, "src", "srclen");
    const dst = selector(f, "dst", "dstlen");
    const family = [src, dst].some((p) => p !== undefined && familyOf(p) === 6) ? 6 : 4;
    const rule: PolicyRule = { family, priority: f.reqNum("priority"), not: f.has("not"), action: "lookup" };
    if (src !== undefined) rule.src = src;
    if (dst !== undefined) rule.dst = dst;
    const iif = f.str("iif");
    if (iif !== undefined) rule.iif = iif;
    const oif = f.str("oif");
    if (oif !== undefined) rule.oif = oif;
    const mark = f.str("fwmark") ?? f.num("fwmark")?.toString();
    if (mark !== undefined) rule.fwmark = fwmark(f, mark, f.str("fwmask"));
    const ipproto = f.str("ipproto");
    if (ipproto !== undefined) rule.ipproto = ipproto;
    ports(f, rule, "sport");
    ports(f, rule, "dport");
    const table = f.str("table");
    const gotoTarget = f.num("goto");
    const action = f.str("action");
    if (gotoTarget !== undefined) {
      rule.action = "goto";
      rule.gotoPriority = gotoTarget;
    } else if (f.has("nop")) rule.action = "nop";
    else if (action !== undefined) {
      if (!isTerminal(action)) f.fail(`unknown action "${action}"`);
      rule.action = action;
    } else if (table !== undefined) rule.table = table;
    else f.fail(`rule without table or action`);
    const spl = f.num("suppress_prefixlen");
    if (spl !== undefined) rule.suppressPrefixlen = spl;
    return rule;
  });
}

function selector(f: Fields, key: string, lenKey: string): string | undefined {
  const v = f.str(key);
  if (v === undefined || v === "all") return undefined;
  const len = f.num(lenKey);
  const p = normalizePrefix(len === undefined ? v : `${v}/${len}`, familyOf(v));
  if (p === undefined) f.fail(`invalid ${key} "${v}"`);
  return p;
}

function fwmark(f: Fields, value: string, mask: string | undefined): NonNullable<PolicyRule["fwmark"]> {
  const v = parseIntStrict(value);
  if (v === undefined) f.fail(`invalid fwmark "${value}"`);
  if (mask === undefined) return { value: v };
  const m = parseIntStrict(mask);
  if (m === undefined) f.fail(`invalid fwmask "${mask}"`);
  return { value: v, mask: m };
}

/** `"dport": 80` or `"dport_start": 1000, "dport_end": 2000`. */
function ports(f: Fields, rule: PolicyRule, key: "sport" | "dport"): void {
  const single = f.num(key);
  const start = f.num(`${key}_start`);
  const end = f.num(`${key}_end`);
  if (single !== undefined) rule[key] = single;
  else if (start !== undefined) {
    rule[key] = start;
    if (end !== undefined && end !== start) rule[key === "sport" ? "sportEnd" : "dportEnd"] = end;
  }
}

/**
 * Parse the text form of `ip rule` (`32766:\tfrom all lookup main`,
 * `100:\tfrom 10.244.0.0/24 fwmark 0x10/0xff lookup 100`, `20:\tfrom all goto 30`, `… blackhole`).
 * `source` names what was parsed in errors (the command or file; default the text command).
 */
export function parseIpRuleText(text: string, source = textSourceCommand("ip-rule")): PolicyRule[] {
  return textLines(text).map((line) => {
    const m = /^(\d+):\s+(.*)$/.exec(line.text);
    if (!m) throw new ParseError(source, line.no, "not a rule line (expected `<priority>: …`)", line.text);
    const t: Tokens = new Tokens(tokens(m[2] ?? ""), source, line);
    const rule: PolicyRule = {
      family: 4,
      priority: Number.parseInt(m[1] ?? "", 10),
      not: false,
      action: "lookup",
    };
    let sawAction = false;
    const prefix = (k: string): string | undefined => {
      const v = t.value(k);
      if (v === "all") return undefined;
      const [addr = ""] = v.split("/");
      const p = normalizePrefix(v, familyOf(addr));
      if (p === undefined) t.fail(`invalid ${k} "${v}"`);
      if (familyOf(addr) === 6) rule.family = 6;
      return p;
    };
    while (!t.done) {
      const k = t.next() ?? "";
      if (k === "not") rule.not = true;
      else if (k === "from") {
        const p = prefix(k);
        if (p !== undefined) rule.src = p;
      } else if (k === "to") {
        const p = prefix(k);
        if (p !== undefined) rule.dst = p;
      } else if (k === "iif") rule.iif = t.value(k);
      else if (k === "oif") rule.oif = t.value(k);
      else if (k === "fwmark") {
        const v = t.value(k);
        const [val = "", mask] = v.split("/");
        const value = parseIntStrict(val);
        const mk = mask === undefined ? undefined : parseIntStrict(mask);
        if (value === undefined || (mask !== undefined && mk === undefined)) t.fail(`invalid fwmark "${v}"`);
        rule.fwmark = mk === undefined ? { value } : { value, mask: mk };
      } else if (k === "ipproto") rule.ipproto = t.value(k);
      else if (k === "sport" || k === "dport") {
        const v = t.value(k);
        const [a = "", b] = v.split("-");
        const start = parseIntStrict(a);
        const end = b === undefined ? undefined : parseIntStrict(b);
        if (start === undefined || (b !== undefined && end === undefined)) t.fail(`invalid ${k} "${v}"`);
        rule[k] = start;
        if (end !== undefined && end !== start) rule[k === "sport" ? "sportEnd" : "dportEnd"] = end;
      } else if (k === "lookup" || k === "table") {
        rule.table = t.value(k);
        sawAction = true;
      } else if (k === "goto") {
        rule.action = "goto";
        rule.gotoPriority = t.int(k);
        sawAction = true;
      } else if (isTerminal(k)) {
        rule.action = k;
        sawAction = true;
      } else if (k === "suppress_prefixlength") rule.suppressPrefixlen = t.int(k);
      else if (k === "tos" || k === "dsfield" || k === "uidrange" || k === "realms" || k === "protocol") {
        t.value(k);
      }
    }
    if (!sawAction) t.fail("rule without lookup or action (truncated line?)");
    return rule;
  });
}

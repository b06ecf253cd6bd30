/**
 * Runs one nft rule on the packet: its matches in order, then the statement that decides (verdict,
 * vmap, NAT, mark). Side effects land in the walk (packet, mark, steps); the result tells the chain
 * walker what to do next.
 */
import type { Json, JsonObject } from "../../../model/json.js";
import type { NftChain, NftRule, NftTable } from "../../../model/nftables.js";
import type { Packet } from "../../../model/trace.js";
import { isObject, numberAt, objectAt, soleKey, stringAt } from "../../../parsers/nftables/narrow.js";
import type { NetfilterContext, NetfilterStep } from "../types.js";
import { affinityOf } from "./affinity.js";
import { chooseBranch, isNumgen, numgenBranches, toEndpointChoices } from "./endpoints.js";
import { lookup, mapEntries, readVerdict, type Verdict } from "./maps.js";
import { type EvalState, isUnknown, matchesPattern, readExpr, type Unknown } from "./values.js";

/** Mutable state of one base-chain evaluation. */
export interface Walk {
  table: NftTable;
  packet: Packet;
  ctx: NetfilterContext;
  mark: number;
  steps: NetfilterStep[];
  dnat: boolean;
  snat: boolean;
  unknown: string[];
}

/** What a rule tells the chain walker. */
export type RuleResult =
  | { kind: "next" }
  | { kind: "verdict"; verdict: "accept" | "drop" | "reject" }
  | { kind: "return" }
  | { kind: "jump" | "goto"; target: string };

const NEXT: RuleResult = { kind: "next" };
/**
 * Statements with no effect on the path of one traced packet (`set` = `update @affinity {…}`, which
 * the Service step reports as its affinity: see affinity.ts).
 */
const IGNORED = new Set(["counter", "log", "notrack", "set"]);

/** Where the rules of `chain` were read from, for evidence. */
export function chainSource(table: NftTable, chain: string): string {
  return table.evidenceSource?.({ chain }) ?? "nft -j list ruleset";
}

/** `nft list chain ip kube-proxy services`. */
export function chainCommand(table: NftTable, chain: string): string {
  return `nft list chain ${table.family} ${table.name} ${chain}`;
}

function step(w: Walk, chain: NftChain, rule: NftRule, action: NetfilterStep["action"]): NetfilterStep {
  const s: NetfilterStep = {
    family: "nftables",
    table: `${w.table.family} ${w.table.name}`,
    chain: chain.name,
    ruleIndex: rule.index,
    action,
    evidence: { source: chainSource(w.table, chain.name), text: rule.text },
    command: chainCommand(w.table, chain.name),
  };
  w.steps.push(s);
  return s;
}

function note(w: Walk, chain: NftChain, rule: NftRule, u: Unknown): RuleResult {
  w.unknown.push(`${w.table.family} ${w.table.name} ${chain.name} rule ${rule.index}: ${u.unknown}`);
  return NEXT;
}

/** Evaluates `rule` in `chain`; unknown matches/statements make the rule not match and are reported. */
export function runRule(w: Walk, chain: NftChain, rule: NftRule): RuleResult {
  const st: EvalState = { packet: w.packet, ctx: w.ctx, mark: w.mark, table: w.table };
  for (const stmt of rule.expr) {
    st.packet = w.packet;
    st.mark = w.mark;
    const key = soleKey(stmt) ?? "?";
    const body = stmt[key];
    if (IGNORED.has(key)) continue;
    // One traced packet never exceeds a rate: `limit rate N/s` matches, `limit rate over N/s` does not.
    if (key === "limit") {
      if (isObject(body) && body.inv === true) return NEXT;
      continue;
    }
    const verdict = readVerdict(stmt);
    if (verdict) return applyVerdict(w, chain, rule, verdict);
    switch (key) {
      case "match": {
        const r = isObject(body) ? evalMatch(body, st) : { unknown: "malformed match" };
        if (isUnknown(r)) return note(w, chain, rule, r);
        if (!r) return NEXT;
        continue;
      }
      case "reject":
        step(w, chain, rule, "reject");
        return { kind: "verdict", verdict: "reject" };
      case "vmap":
        return isObject(body)
          ? runVmap(w, chain, rule, body, st)
          : note(w, chain, rule, { unknown: "malformed vmap" });
      case "mangle": {
        const r = isObject(body) ? setMark(w, body, st) : { unknown: "malformed mangle" };
        if (isUnknown(r)) return note(w, chain, rule, r);
        step(w, chain, rule, "mark");
        continue;
      }
      case "dnat":
      case "snat":
      case "masquerade":
      case "redirect":
        return runNat(w, chain, rule, key, isObject(body) ? body : {}, st);
      default:
        return note(w, chain, rule, { unknown: `statement ${key}` });
    }
  }
  return NEXT;
}

function evalMatch(m: JsonObject, st: EvalState): boolean | Unknown {
  const op = stringAt(m, "op") ?? "==";
  const v = readExpr(m.left, st);
  if (isUnknown(v)) return v;
  if (v === undefined) return false; // the header the match needs is absent: nft's dependency fails
  const right: Json | undefined = m.right;
  if (op === "==" || op === "in" || op === "!=") {
    const r = matchesPattern(v, right, st.table);
    if (isUnknown(r)) return r;
    return op === "!=" ? !r : r;
  }
  if (typeof v === "number" && typeof right === "number") {
    if (op === "<") return v < right;
    if (op === ">") return v > right;
    if (op === "<=") return v <= right;
    if (op === ">=") return v >= right;
  }
  return { unknown: `match operator ${op}` };
}

function applyVerdict(
  w: Walk,
  chain: NftChain,
  rule: NftRule,
  v: Verdict,
  extra?: Partial<NetfilterStep>,
): RuleResult {
  if (v.kind === "continue") return NEXT;
  const s = step(w, chain, rule, v.kind);
  if (v.target !== undefined) s.target = v.target;
  Object.assign(s, extra);
  if (v.kind === "jump" || v.kind === "goto") return { kind: v.kind, target: v.target ?? "" };
  if (v.kind === "return") return { kind: "return" };
  return { kind: "verdict", verdict: v.kind };
}

function runVmap(w: Walk, chain: NftChain, rule: NftRule, vmap: JsonObject, st: EvalState): RuleResult {
  const entries = mapEntries(vmap.data, w.table);
  if (isUnknown(entries)) return note(w, chain, rule, entries);
  if (isNumgen(vmap.key)) {
    const branches = numgenBranches(vmap.key.numgen, entries, w.table);
    if (isUnknown(branches)) return note(w, chain, rule, branches);
    if (branches.length === 0) return NEXT;
    const choice = chooseBranch(branches, w.ctx.endpoint);
    if (choice.unknown) w.unknown.push(choice.unknown);
    const chosen = branches[choice.index];
    if (!chosen) return NEXT;
    const extra: Partial<NetfilterStep> = { endpoints: toEndpointChoices(branches, choice.index) };
    const affinity = affinityOf(w.table, chain, chosen.chain, w.packet.src);
    if (affinity) extra.affinity = affinity;
    return applyVerdict(w, chain, rule, { kind: chosen.kind, target: chosen.chain }, extra);
  }
  const key = readExpr(vmap.key, st);
  if (isUnknown(key)) return note(w, chain, rule, key);
  if (key === undefined) return NEXT;
  const value = lookup(key, entries, w.table);
  if (isUnknown(value)) return note(w, chain, rule, value);
  if (value === undefined) return NEXT;
  const verdict = readVerdict(value);
  if (!verdict) return note(w, chain, rule, { unknown: `vmap value ${JSON.stringify(value)}` });
  return applyVerdict(w, chain, rule, verdict);
}

function setMark(w: Walk, mangle: JsonObject, st: EvalState): true | Unknown {
  const target = objectAt(mangle, "key");
  const meta = target ? objectAt(target, "meta") : undefined;
  if (!meta || stringAt(meta, "key") !== "mark") return { unknown: `set ${JSON.stringify(mangle.key)}` };
  const v = readExpr(mangle.value, st);
  if (typeof v !== "number") return isUnknown(v) ? v : { unknown: "mark value" };
  w.mark = v >>> 0;
  return true;
}

function runNat(
  w: Walk,
  chain: NftChain,
  rule: NftRule,
  kind: "dnat" | "snat" | "masquerade" | "redirect",
  nat: JsonObject,
  st: EvalState,
): RuleResult {
  if (kind === "redirect") return note(w, chain, rule, { unknown: "redirect" });
  if (kind === "masquerade") {
    // The new source is the output device's primary address, which the netfilter model does not hold.
    w.snat = true;
    step(w, chain, rule, "masquerade");
    return { kind: "verdict", verdict: "accept" };
  }
  const target = natTarget(nat, st, w.table);
  if (isUnknown(target)) return note(w, chain, rule, target);
  if (target === undefined) return NEXT; // map miss: the rule breaks, as in the kernel
  const packet: Packet = { ...w.packet };
  if (kind === "dnat") {
    packet.dst = target.addr;
    if (target.port !== undefined) packet.dport = target.port;
    w.dnat = true;
  } else {
    packet.src = target.addr;
    if (target.port !== undefined) packet.sport = target.port;
    w.snat = true;
  }
  w.packet = packet;
  step(w, chain, rule, kind).packet = packet;
  return { kind: "verdict", verdict: "accept" };
}

/** The address (and port) a dnat/snat statement writes: literal, or looked up in a map. */
function natTarget(
  nat: JsonObject,
  st: EvalState,
  table: NftTable,
): { addr: string; port?: number } | undefined | Unknown {
  const addr = nat.addr;
  if (typeof addr === "string") {
    const port = numberAt(nat, "port");
    return port !== undefined ? { addr, port } : { addr };
  }
  const map = isObject(addr) ? objectAt(addr, "map") : undefined;
  if (!map || nat.port !== undefined) return { unknown: `nat target ${JSON.stringify(nat)}` };
  const entries = mapEntries(map.data, table);
  if (isUnknown(entries)) return entries;
  const key = readExpr(map.key, st);
  if (isUnknown(key) || key === undefined) return key;
  const value = lookup(key, entries, table);
  if (isUnknown(value) || value === undefined) return value;
  if (typeof value === "string") return { addr: value };
  const parts = isObject(value) ? value.concat : undefined;
  if (
    Array.isArray(parts) &&
    parts.length === 2 &&
    typeof parts[0] === "string" &&
    typeof parts[1] === "number"
  ) {
    return { addr: parts[0], port: parts[1] };
  }
  return { unknown: `nat map value ${JSON.stringify(value)}` };
}

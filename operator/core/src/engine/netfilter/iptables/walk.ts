/**
 * Walks one iptables base chain for a packet the way netfilter does: rules in order, the first
 * matching rule's target decides (ACCEPT/DROP/REJECT end the table, RETURN leaves the chain,
 * -j enters a user chain and comes back, -g does not), NAT targets end the nat table, MARK/LOG go
 * on. Each matching rule becomes a NetfilterStep with its dump line as evidence.
 */
import type {
  IptablesChain,
  IptablesRule,
  IptablesTable,
  IptablesTableName,
} from "../../../model/iptables.js";
import type { Packet } from "../../../model/trace.js";
import type { ChainOutcome, NetfilterStep } from "../types.js";
import { type EndpointPlan, planEndpoints } from "./endpoints.js";
import { evidenceSource } from "./evidence.js";
import { describeUnknown, evaluateMatch, type MatchEnv } from "./match.js";
import { isSkimmable, mayMatch } from "./skim.js";

/** Bounds that keep a malformed ruleset (a jump loop) from hanging a trace. */
export const WALK_LIMITS = {
  /** Nested -j/-g depth; the kernel itself refuses loops and allows far less nesting in practice. */
  maxDepth: 64,
  /** Rules looked at in one base chain walk. */
  maxRules: 200_000,
  /** Chains with more rules than this are skimmed: rules that cannot match are not parsed. */
  skimAbove: 256,
};

type Flow =
  | { kind: "continue" }
  | { kind: "return" }
  | { kind: "verdict"; verdict: "accept" | "drop" | "reject" }
  | { kind: "abort" };

/** Targets that do something the trace does not model but that never stop the packet. */
const PASS_THROUGH = new Set([
  "LOG",
  "NFLOG",
  "ULOG",
  "TRACE",
  "AUDIT",
  "NOTRACK",
  "CT",
  "TCPMSS",
  "CHECKSUM",
  "CLASSIFY",
  "DSCP",
  "TOS",
  "TTL",
  "SECMARK",
  "CONNSECMARK",
  "IDLETIMER",
  "RATEEST",
  "SET",
  "CONNMARK",
]);

interface Walk {
  table: IptablesTable;
  tableName: IptablesTableName;
  env: MatchEnv;
  steps: NetfilterStep[];
  unknown?: string;
  rulesSeen: number;
  dnat: boolean;
  snat: boolean;
}

function command(table: string, chain: string): string {
  return `iptables -t ${table} -S ${chain}`;
}

function ruleStep(
  w: Walk,
  rule: IptablesRule,
  action: NetfilterStep["action"],
  extra: Partial<NetfilterStep> = {},
): NetfilterStep {
  const step: NetfilterStep = {
    family: "iptables",
    table: w.tableName,
    chain: rule.chain,
    ruleIndex: rule.index,
    action,
    evidence: { source: evidenceSource(w.table, rule.chain), text: rule.text, line: rule.line },
    command: command(w.tableName, rule.chain),
    ...extra,
  };
  w.steps.push(step);
  return step;
}

function note(w: Walk, why: string): void {
  if (w.unknown === undefined) w.unknown = why;
}

function option(rule: IptablesRule, name: string): string | undefined {
  return rule.target?.options.find((o) => o.name === name)?.args[0];
}

/** "10.0.0.1", "10.0.0.1:80", "10.0.0.1-10.0.0.3:80-90" → first address and port. */
/**
 * `--to-destination`/`--to-source` as `[ADDR[-ADDR]][:PORT[-PORT]]`: the first address and port of
 * each range. Either part may be absent (`:53`, Docker's embedded DNS rules): the kernel then keeps
 * that part of the packet, so it is returned undefined.
 */
function natAddress(spec: string): { addr?: string; port?: number } {
  const [range, ports] = spec.split(":", 2);
  const addr = (range ?? "").split("-")[0];
  const port = ports !== undefined ? Number(ports.split("-")[0]) : undefined;
  return {
    ...(addr ? { addr } : {}),
    ...(port !== undefined && Number.isFinite(port) ? { port } : {}),
  };
}

/** MARK target: --set-xmark v/m, --set-mark v[/m], --or-mark, --xor-mark, --and-mark. */
function applyMark(mark: number, rule: IptablesRule): number | undefined {
  const opts = rule.target?.options ?? [];
  for (const o of opts) {
    const [vs, ms] = (o.args[0] ?? "").split("/");
    const v = Number(vs) >>> 0;
    switch (o.name) {
      case "set-xmark": {
        const m = ms === undefined ? 0xffffffff : Number(ms) >>> 0;
        return ((mark & ~m) ^ v) >>> 0;
      }
      case "set-mark": {
        const m = ms === undefined ? 0xffffffff : Number(ms) >>> 0;
        return ((mark & ~m) | v) >>> 0;
      }
      case "or-mark":
        return (mark | v) >>> 0;
      case "xor-mark":
        return (mark ^ v) >>> 0;
      case "and-mark":
        return (mark & v) >>> 0;
      default:
        break;
    }
  }
  return undefined;
}

function applyTarget(w: Walk, rule: IptablesRule, depth: number, plan: EndpointPlan | undefined): Flow {
  const target = rule.target;
  if (!target) return { kind: "continue" }; // a counting rule (e.g. KUBE-FW's trailing comment)
  const env = w.env;
  switch (target.name) {
    case "ACCEPT":
      ruleStep(w, rule, "accept");
      return { kind: "verdict", verdict: "accept" };
    case "DROP":
      ruleStep(w, rule, "drop");
      return { kind: "verdict", verdict: "drop" };
    case "REJECT":
      ruleStep(w, rule, "reject");
      return { kind: "verdict", verdict: "reject" };
    case "RETURN":
      ruleStep(w, rule, "return");
      return { kind: "return" };
    case "DNAT": {
      const to = option(rule, "to-destination");
      if (to === undefined) {
        note(w, describeUnknown(rule, "DNAT without --to-destination"));
        return { kind: "continue" };
      }
      const { addr, port } = natAddress(to);
      const packet: Packet = { ...env.packet, dst: addr ?? env.packet.dst };
      if (port !== undefined) packet.dport = port;
      env.packet = packet;
      env.dnat = true;
      w.dnat = true;
      ruleStep(w, rule, "dnat", { packet });
      return { kind: "verdict", verdict: "accept" };
    }
    case "SNAT": {
      const to = option(rule, "to-source");
      if (to === undefined) {
        note(w, describeUnknown(rule, "SNAT without --to-source"));
        return { kind: "continue" };
      }
      const { addr, port } = natAddress(to);
      const packet: Packet = { ...env.packet, src: addr ?? env.packet.src };
      if (port !== undefined) packet.sport = port;
      env.packet = packet;
      env.snat = true;
      w.snat = true;
      ruleStep(w, rule, "snat", { packet });
      return { kind: "verdict", verdict: "accept" };
    }
    case "MASQUERADE":
      // The new source is the out device's primary address, which the engine knows, not iptables.
      env.snat = true;
      w.snat = true;
      ruleStep(w, rule, "masquerade");
      return { kind: "verdict", verdict: "accept" };
    case "MARK": {
      const mark = applyMark(env.mark, rule);
      if (mark === undefined) {
        note(w, describeUnknown(rule, "MARK without --set-xmark/--set-mark/--or-mark/--xor-mark/--and-mark"));
        return { kind: "continue" };
      }
      env.mark = mark;
      ruleStep(w, rule, "mark");
      return { kind: "continue" };
    }
    default:
      break;
  }
  if (PASS_THROUGH.has(target.name)) return { kind: "continue" };
  const next = openChain(w, target.name);
  if (!next) {
    note(
      w,
      describeUnknown(
        rule,
        `target ${target.name} is not modelled (and is no chain of table ${w.tableName})`,
      ),
    );
    return { kind: "continue" };
  }
  const extra: Partial<NetfilterStep> = { target: next.name };
  if (plan?.byRule.has(rule.index)) {
    extra.endpoints = plan.endpoints;
    if (plan.affinity) extra.affinity = plan.affinity;
  }
  ruleStep(w, rule, target.goto ? "goto" : "jump", extra);
  const sub = walkChain(w, next, depth + 1);
  if (sub.kind === "return") return target.goto ? { kind: "return" } : { kind: "continue" };
  return sub;
}

/** The chain a jump enters; a long chain of a lazy table comes skimmed for the current packet. */
function openChain(w: Walk, name: string): IptablesChain | undefined {
  const t = w.table;
  if (isSkimmable(t)) {
    const head = t.chainHeader(name);
    if (!head) return undefined;
    if (head.ruleCount > WALK_LIMITS.skimAbove) {
      return { ...head.chain, rules: t.rulesWhere(name, mayMatch(w.env.packet)) ?? [] };
    }
  }
  return t.chain(name);
}

function ruleMatches(w: Walk, rule: IptablesRule, plan: EndpointPlan | undefined): boolean {
  let statistic: boolean | undefined;
  if (plan?.byRule.has(rule.index)) {
    // The other endpoints are shown on the step, not walked.
    if (rule.index !== plan.chosenRule) return false;
    statistic = true;
  }
  for (const m of rule.matches) {
    const r = evaluateMatch(m, w.env, statistic);
    if (r === true) continue;
    if (r !== false) note(w, describeUnknown(rule, `${r.unknown}; the rule is treated as not matching`));
    return false;
  }
  return true;
}

function walkChain(w: Walk, chain: IptablesChain, depth: number): Flow {
  if (depth > WALK_LIMITS.maxDepth) {
    note(
      w,
      `${w.tableName}/${chain.name}: more than ${WALK_LIMITS.maxDepth} nested jumps (a jump loop?); walk stopped`,
    );
    return { kind: "abort" };
  }
  const plan = planEndpoints(w.table, chain, w.env, w.env.ctx.endpoint);
  if (plan?.problem) note(w, `${w.tableName}/${chain.name}: ${plan.problem}`);
  for (const rule of chain.rules) {
    if (++w.rulesSeen > WALK_LIMITS.maxRules) {
      note(
        w,
        `${w.tableName}: more than ${WALK_LIMITS.maxRules} rules looked at (a jump loop?); walk stopped`,
      );
      return { kind: "abort" };
    }
    if (!ruleMatches(w, rule, plan)) continue;
    const flow = applyTarget(w, rule, depth, plan);
    if (flow.kind !== "continue") return flow;
  }
  return { kind: "return" };
}

/** The declaration line of a chain, as iptables-save prints it. */
function declaration(chain: IptablesChain): string {
  const c = chain.counters ? `[${chain.counters.packets}:${chain.counters.bytes}]` : "[0:0]";
  return `:${chain.name} ${chain.policy ?? "-"} ${c}`;
}

/** Evaluate built-in chain `chain` of `table` for the packet; see BaseChain.evaluate. */
export function walkBaseChain(
  table: IptablesTable,
  tableName: IptablesTableName,
  chain: IptablesChain,
  env: MatchEnv,
): ChainOutcome {
  const w: Walk = { table, tableName, env, steps: [], rulesSeen: 0, dnat: false, snat: false };
  const flow = walkChain(w, chain, 0);
  let verdict: ChainOutcome["verdict"] = "accept";
  if (flow.kind === "verdict") verdict = flow.verdict;
  else if (flow.kind === "return") {
    verdict = chain.policy === "DROP" ? "drop" : "accept";
    const text =
      chain.policy === undefined
        ? `${declaration(chain)} (no policy in the dump: restore input without a :${chain.name} line; the kernel default ACCEPT is assumed)`
        : declaration(chain);
    w.steps.push({
      family: "iptables",
      table: tableName,
      chain: chain.name,
      action: "policy",
      evidence: { source: evidenceSource(table, chain.name), text, line: chain.line },
      command: command(tableName, chain.name),
    });
  }
  const out: ChainOutcome = { verdict, packet: env.packet, mark: env.mark, steps: w.steps };
  if (w.dnat) out.dnat = true;
  if (w.snat) out.snat = true;
  if (w.unknown !== undefined) out.unknown = w.unknown;
  return out;
}

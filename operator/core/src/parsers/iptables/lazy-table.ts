/**
 * A table indexed by one pass over the dump: per chain, where its declaration is and which `-A`
 * lines belong to it (as offsets into the one dump string). Rules are tokenized only when a chain
 * is first asked for, then kept. A 10k-Service kube-proxy node has ~60k chains; a trace reads a few
 * dozen of them.
 */
import type {
  IptablesChain,
  IptablesRule,
  IptablesTable,
  IptablesTableName,
  PacketCounters,
} from "../../model/iptables.js";
import { ParseError } from "../errors.js";
import { IntVec } from "./int-vec.js";
import { parseIptablesRule } from "./rule.js";

/** The built-in chains of each table, in the order the kernel registers them. */
export const IPTABLES_BUILTIN_CHAINS: Readonly<Record<IptablesTableName, readonly string[]>> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

export const IPTABLES_TABLE_NAMES: readonly IptablesTableName[] = [
  "raw",
  "mangle",
  "nat",
  "filter",
  "security",
];

export function isIptablesTableName(name: string): name is IptablesTableName {
  return (IPTABLES_TABLE_NAMES as readonly string[]).includes(name);
}

/** What a chain declaration line says, parsed on demand. */
export interface IptablesChainDeclaration {
  policy?: "ACCEPT" | "DROP";
  counters?: PacketCounters;
}

/** Parses the declaration line of a chain (`:KUBE-SVC-X - [0:0]`, `-P INPUT ACCEPT`), given its text. */
export type IptablesDeclarationParser = (text: string, line: number) => IptablesChainDeclaration;

/** How many chains and rules a ruleset has parsed so far: the proof that parsing is lazy. */
export interface IptablesParseStats {
  chainsParsed: number;
  rulesParsed: number;
}

/** An IptablesTable that also tells how much of it has been parsed. */
export class LazyIptablesTable implements IptablesTable {
  private readonly names: string[] = [];
  private readonly byName = new Map<string, number>();
  /** Per chain: offset of its declaration line (-1: implicitly declared built-in), line number. */
  private readonly declStart = new IntVec(256);
  private readonly declLine = new IntVec(256);
  /** Per chain: first rule (index into the rule vectors), number of rules, last rule. */
  private readonly first = new IntVec(256);
  private readonly count = new IntVec(256);
  private readonly lastRule = new IntVec(256);
  /** Chains whose rules are not one contiguous run: all their rule indices. */
  private readonly scattered = new Map<number, number[]>();
  /** Per rule: offset of its line and its line number. */
  private readonly ruleStart = new IntVec(1024);
  private readonly ruleLine = new IntVec(1024);
  private readonly parsed = new Map<string, IptablesChain>();
  /** Rules parsed one by one (by rulesWhere), by rule vector index, so no rule is parsed twice. */
  private readonly ruleCache = new Map<number, IptablesRule>();
  readonly stats: IptablesParseStats = { chainsParsed: 0, rulesParsed: 0 };

  constructor(
    readonly name: IptablesTableName,
    /** 1-based line of the `*table` header (or 0 when the format has none). */
    readonly line: number,
    private readonly text: string,
    private readonly source: string,
    private readonly parseDeclaration: IptablesDeclarationParser,
  ) {}

  /** Record a chain declaration; returns its index, or -1 if the chain was already declared. */
  declare(name: string, start: number, line: number): number {
    if (this.byName.has(name)) return -1;
    const idx = this.names.length;
    this.names.push(name);
    this.byName.set(name, idx);
    this.declStart.push(start);
    this.declLine.push(line);
    this.first.push(-1);
    this.count.push(0);
    this.lastRule.push(-1);
    return idx;
  }

  /** Index of a declared chain; built-in chains are declared implicitly (restore input may omit them). */
  chainIndex(name: string, line: number): number | undefined {
    const idx = this.byName.get(name);
    if (idx !== undefined) return idx;
    if (IPTABLES_BUILTIN_CHAINS[this.name].includes(name)) return this.declare(name, -1, line);
    return undefined;
  }

  /** Record the `-A` line at `start` (line `line`) as the next rule of chain `chainIdx`. */
  addRule(chainIdx: number, start: number, line: number): void {
    const r = this.ruleStart.push(start);
    this.ruleLine.push(line);
    const n = this.count.get(chainIdx);
    if (n === 0) {
      this.first.set(chainIdx, r);
    } else if (this.lastRule.get(chainIdx) !== r - 1 || this.scattered.has(chainIdx)) {
      let list = this.scattered.get(chainIdx);
      if (!list) {
        list = [];
        const f = this.first.get(chainIdx);
        for (let i = 0; i < n; i++) list.push(f + i);
        this.scattered.set(chainIdx, list);
      }
      list.push(r);
    }
    this.count.set(chainIdx, n + 1);
    this.lastRule.set(chainIdx, r);
  }

  /** Chain names in declaration order. */
  chainNames(): string[] {
    return [...this.names];
  }

  /** Number of rules indexed in the table (without parsing them). */
  get ruleCount(): number {
    return this.ruleStart.length;
  }

  /** Whether the chain's rules are spread over more than one run of lines in the dump. */
  isScattered(name: string): boolean {
    const idx = this.byName.get(name);
    return idx !== undefined && this.scattered.has(idx);
  }

  /** The chain with its rules parsed (first call parses, later calls return the same object). */
  chain(name: string): IptablesChain | undefined {
    const done = this.parsed.get(name);
    if (done) return done;
    const chain = this.header(name);
    if (!chain) return undefined;
    const idx = this.byName.get(name) as number;
    const n = this.count.get(idx);
    for (let i = 0; i < n; i++) chain.rules.push(this.ruleAt(idx, i, false));
    this.stats.chainsParsed++;
    this.parsed.set(name, chain);
    return chain;
  }

  /**
   * The chain's declaration (policy, counters, line) and its rule count, without parsing rules:
   * `rules` is empty. Undefined if the table has no such chain.
   */
  chainHeader(name: string): { chain: IptablesChain; ruleCount: number } | undefined {
    const chain = this.header(name);
    if (!chain) return undefined;
    return { chain, ruleCount: this.count.get(this.byName.get(name) as number) };
  }

  /**
   * The rules of chain `name` whose dump line passes `keep`, in order, each with its index in the
   * whole chain; lines that fail `keep` are not parsed. For walking a chain of 10k rules of which
   * a packet can match a handful (KUBE-SERVICES on a big cluster). A fully parsed chain is
   * filtered on its parsed rules' text.
   */
  rulesWhere(name: string, keep: (line: string) => boolean): IptablesRule[] | undefined {
    const done = this.parsed.get(name);
    if (done) return done.rules.filter((r) => keep(r.text));
    const idx = this.byName.get(name);
    if (idx === undefined) return undefined;
    const out: IptablesRule[] = [];
    const n = this.count.get(idx);
    for (let i = 0; i < n; i++) {
      if (keep(this.lineAt(this.ruleStart.get(this.ruleIdx(idx, i))))) out.push(this.ruleAt(idx, i, true));
    }
    return out;
  }

  private header(name: string): IptablesChain | undefined {
    const idx = this.byName.get(name);
    if (idx === undefined) return undefined;
    const start = this.declStart.get(idx);
    const declLine = this.declLine.get(idx);
    const decl: IptablesChainDeclaration =
      start >= 0 ? this.parseDeclaration(this.lineAt(start), declLine) : this.implicitDeclaration();
    const chain: IptablesChain = { table: this.name, name, line: declLine, rules: [] };
    if (decl.policy) chain.policy = decl.policy;
    if (decl.counters) chain.counters = decl.counters;
    return chain;
  }

  /** Index into the rule vectors of the i-th rule (0-based) of chain idx. */
  private ruleIdx(idx: number, i: number): number {
    const list = this.scattered.get(idx);
    return list ? (list[i] as number) : this.first.get(idx) + i;
  }

  /** Parse the i-th rule (0-based) of chain idx; `remember` keeps it for later rulesWhere calls. */
  private ruleAt(idx: number, i: number, remember: boolean): IptablesRule {
    const r = this.ruleIdx(idx, i);
    const cached = this.ruleCache.get(r);
    if (cached) return cached;
    const rule = parseIptablesRule(this.lineAt(this.ruleStart.get(r)), {
      table: this.name,
      index: i + 1,
      line: this.ruleLine.get(r),
      source: this.source,
    });
    this.stats.rulesParsed++;
    if (remember) this.ruleCache.set(r, rule);
    return rule;
  }

  private implicitDeclaration(): IptablesChainDeclaration {
    // A restore script may append to a built-in chain without a `:CHAIN` line; the policy is then
    // whatever the kernel has (ACCEPT on a fresh table), which the dump does not say: leave it unset.
    return {};
  }

  private lineAt(start: number): string {
    let end = this.text.indexOf("\n", start);
    if (end < 0) end = this.text.length;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }

  /** Throw a ParseError for this table's source. */
  fail(line: number, detail: string, excerpt?: string): never {
    throw new ParseError(this.source, line, detail, excerpt);
  }
}

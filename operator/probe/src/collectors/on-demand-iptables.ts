/**
 * Demand-driven netfilter for one trace: instead of `iptables-save` (every rule of the node, ~2 s
 * for a 10k-Service kube-proxy node) read only the chains the packet enters, one
 * `iptables -t TABLE -S CHAIN -v` each (a few ms with iptables-nft: the kernel returns that one
 * chain). This module is the I/O edge: the engine stays pure and synchronous.
 *
 * How: the engine walks an OnDemandIptablesRuleset. A chain it asks for that has not been read yet
 * is recorded as missing and looks absent. traceOnDemand then reads every missing chain (bounded,
 * in parallel) and runs the trace again, until a run asks for nothing new. Each run is pure code
 * over what was read; the last run saw every chain it entered, so its result is the same as a
 * trace over the full dump. A kube-proxy ClusterIP path needs about five rounds (base chains →
 * KUBE-SERVICES → KUBE-SVC → KUBE-SEP → KUBE-MARK-MASQ/KUBE-POSTROUTING).
 *
 * Why rounds rather than a blocking read inside chain(): a synchronous exec would stall the probe's
 * event loop for every chain and put I/O inside the engine's call stack; rounds keep all I/O here,
 * async and bounded, at the price of re-running a walk that takes milliseconds.
 */
import {
  IPTABLES_TABLE_NAMES,
  type IptablesChain,
  type IptablesRule,
  type IptablesRuleset,
  type IptablesTable,
  type IptablesTableName,
  type LazyIptablesTable,
  parseIptablesS,
} from "@netmap/core";
import { type NetnsExecOptions, netnsExec } from "./netns-exec.js";
import type { OnDemandSource } from "./on-demand.js";

/** Bounds of one demand-driven trace. */
export const ON_DEMAND_LIMITS = {
  /** Chains read per table. */
  maxChainsPerTable: 512,
  /** `iptables -S` processes at once. */
  concurrency: 8,
};

/** One table whose chains are read from the kernel when first asked for. */
export class OnDemandIptablesTable implements IptablesTable {
  /** Per chain: its `iptables -S` listing parsed, or null when the kernel has no such chain. */
  private readonly read = new Map<string, LazyIptablesTable | null>();
  private readonly wanted = new Set<string>();
  /** Chains iptables would not list (stderr), e.g. one holding nft-only expressions. */
  readonly unreadable = new Map<string, string>();
  /** `iptables -S` commands run. */
  commands = 0;

  constructor(
    readonly name: IptablesTableName,
    private readonly netns: string,
    private readonly exec?: NetnsExecOptions,
  ) {}

  /** The chains read so far (not the kernel's whole list: that would mean reading everything). */
  chainNames(): string[] {
    return [...this.read.entries()].filter(([, t]) => t !== null).map(([n]) => n);
  }

  chain(name: string): IptablesChain | undefined {
    return this.source(name)?.chain(name);
  }

  /** Evidence names the command each chain was read with; its line numbers count in that listing. */
  evidenceSource(chain: string): string {
    return `iptables -t ${this.name} -S ${chain} -v`;
  }

  /** For the evaluator's skim of long chains (KUBE-SERVICES): see SkimmableTable. */
  chainHeader(name: string): { chain: IptablesChain; ruleCount: number } | undefined {
    return this.source(name)?.chainHeader(name);
  }

  rulesWhere(name: string, keep: (line: string) => boolean): IptablesRule[] | undefined {
    return this.source(name)?.rulesWhere(name, keep);
  }

  /** Chains asked for but not read yet. */
  get missing(): string[] {
    return [...this.wanted];
  }

  /** Reads every missing chain: `iptables -t TABLE -S CHAIN -v` inside the netns. */
  async fetchMissing(): Promise<void> {
    const names = [...this.wanted];
    this.wanted.clear();
    if (this.read.size + names.length > ON_DEMAND_LIMITS.maxChainsPerTable) {
      throw new Error(
        `table ${this.name}: a trace asked for more than ${ON_DEMAND_LIMITS.maxChainsPerTable} chains (a jump loop?)`,
      );
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const chain = names[next++] as string;
        this.read.set(chain, await this.fetch(chain));
      }
    };
    await Promise.all(Array.from({ length: Math.min(ON_DEMAND_LIMITS.concurrency, names.length) }, worker));
  }

  private async fetch(chain: string): Promise<LazyIptablesTable | null> {
    this.commands++;
    const r = await netnsExec(
      this.netns,
      ["iptables", "-w", "5", "-t", this.name, "-S", chain, "-v"],
      this.exec,
    );
    if (r.exitCode !== 0) {
      // "No chain/target/match by that name", "Table does not exist", or (iptables-nft) "chain `X'
      // in table `nat' is incompatible" for a name it does not know: the kernel has no such chain.
      const why = r.stderr.trim();
      if (why && !/No chain|does not exist|incompatible/.test(why)) this.unreadable.set(chain, why);
      return null;
    }
    // Errors name the exact command, so that whoever reads the trace's reason can run it on the node.
    return parseIptablesS(r.stdout, this.name, `iptables -t ${this.name} -S ${chain} -v`).tables.get(
      this.name,
    ) as LazyIptablesTable;
  }

  private source(name: string): LazyIptablesTable | undefined {
    const t = this.read.get(name);
    if (t === undefined) {
      if (!this.read.has(name)) this.wanted.add(name);
      return undefined;
    }
    return t ?? undefined;
  }
}

/** An IptablesRuleset read chain by chain; see the module comment. */
export class OnDemandIptablesRuleset implements IptablesRuleset, OnDemandSource {
  readonly tables = new Map<IptablesTableName, OnDemandIptablesTable>();
  backend?: "nf_tables" | "legacy";
  version?: string;

  constructor(netns: string, exec?: NetnsExecOptions) {
    for (const t of IPTABLES_TABLE_NAMES) this.tables.set(t, new OnDemandIptablesTable(t, netns, exec));
  }

  get missing(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.missing.length;
    return n;
  }

  async fetchMissing(): Promise<void> {
    await Promise.all([...this.tables.values()].map((t) => t.fetchMissing()));
  }

  /** `iptables -S` commands run so far. */
  get commands(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.commands;
    return n;
  }
}

/**
 * An on-demand ruleset for the netns, or undefined when iptables is not installed there.
 * Reads `iptables -V` for the backend; nothing else is read until a trace asks.
 */
export async function onDemandIptables(
  netns: string,
  exec?: NetnsExecOptions,
): Promise<OnDemandIptablesRuleset | undefined> {
  const v = await netnsExec(netns, ["iptables", "-V"], exec);
  if (v.toolMissing || v.exitCode !== 0) return undefined;
  const rs = new OnDemandIptablesRuleset(netns, exec);
  const m = /v(\S+)(?: \((nf_tables|legacy)\))?/.exec(v.stdout);
  if (m?.[1]) rs.version = m[1];
  rs.backend = m?.[2] === "nf_tables" ? "nf_tables" : "legacy";
  return rs;
}

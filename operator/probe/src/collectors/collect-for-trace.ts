/**
 * Collecting a node for one trace, reading only what a trace needs where the kernel lets us:
 * everything iproute2 shows (cheap), the host's iptables chain by chain on demand
 * (on-demand-iptables.ts), and of nftables only the tables that are not iptables-nft's.
 *
 * Why nft is narrowed by table and not by chain: with nft 1.0.x, `nft list chain` builds a cache of
 * every set of the table first (seconds on a 10k-Service kube-proxy table, whose numgen vmaps are
 * 10k anonymous sets), and `nft -j list ruleset` on an iptables-nft node with 60k chains takes tens
 * of seconds. `nft -j list chains` (names and hooks only) is fast; it tells which tables have base
 * chains, and the tables iptables-nft manages are left to the iptables reader.
 */
import {
  assembleNodeState,
  type NftRuleset,
  type NodeState,
  parseNftJson,
  SOURCES,
  type SourceName,
} from "@netmap/core";
import { type CollectNodeOptions, collectNode } from "./collect-node.js";
import { netnsExec, resolveNetnsPath } from "./netns-exec.js";
import { type OnDemandIptablesRuleset, onDemandIptables } from "./on-demand-iptables.js";

const IPTABLES_TABLES = new Set(["filter", "nat", "mangle", "raw", "security"]);
const IPTABLES_BUILTINS = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);
/** Tables read in full at most (a node with more nft tables than this is not a node). */
const MAX_NFT_TABLES = 64;

/** Per nft table (`family name`): the names of its base chains (only those are kept). */
function baseChainsByTable(json: string): Map<string, string[]> {
  const doc: unknown = JSON.parse(json);
  const items = typeof doc === "object" && doc !== null && "nftables" in doc ? doc.nftables : undefined;
  if (!Array.isArray(items)) throw new Error("nft -j list chains: expected {nftables: [...]}");
  const out = new Map<string, string[]>();
  for (const item of items as unknown[]) {
    if (typeof item !== "object" || item === null || !("chain" in item)) continue;
    const c = item.chain as Partial<Record<string, unknown>>;
    if (c.family !== "ip" && c.family !== "inet") continue;
    if (typeof c.table !== "string" || typeof c.name !== "string" || typeof c.hook !== "string") continue;
    const key = `${c.family} ${c.table}`;
    const list = out.get(key);
    if (list) list.push(c.name);
    else out.set(key, [c.name]);
  }
  return out;
}

/**
 * The nft tables of the netns that an IPv4 trace can cross (family ip/inet, with base chains),
 * leaving out the ones iptables-nft manages (named like an iptables table, base chains all named
 * like iptables' built-ins). Undefined when nft is not installed.
 */
export async function nftTablesForTrace(netns: string): Promise<NftRuleset | undefined> {
  const list = await netnsExec(netns, ["nft", "-j", "list", "chains"]);
  if (list.toolMissing) return undefined;
  if (list.exitCode !== 0) throw new Error(`nft -j list chains failed: ${list.stderr.trim()}`);
  // A table without base chains is never entered by a packet; iptables-nft's tables are read by
  // the iptables reader (named like an iptables table, base chains named like its built-ins).
  const wanted = [...baseChainsByTable(list.stdout).entries()].filter(([key, bases]) => {
    const table = key.slice(key.indexOf(" ") + 1);
    return !(IPTABLES_TABLES.has(table) && bases.every((c) => IPTABLES_BUILTINS.has(c)));
  });
  if (wanted.length > MAX_NFT_TABLES) throw new Error(`more than ${MAX_NFT_TABLES} nft tables`);
  const ruleset: NftRuleset = { tables: [] };
  for (const [key] of wanted) {
    const [family, table] = key.split(" ") as [string, string];
    const r = await netnsExec(netns, ["nft", "-j", "list", "table", family, table]);
    if (r.exitCode !== 0) throw new Error(`nft -j list table ${key} failed: ${r.stderr.trim()}`);
    const part = parseNftJson(r.stdout);
    ruleset.version ??= part.version;
    ruleset.tables.push(...part.tables);
  }
  return ruleset;
}

export interface NodeForTrace {
  state: NodeState;
  /** The host's iptables, read on demand while tracing (pass it to traceOnDemand). */
  iptables?: OnDemandIptablesRuleset;
  /** Wall time of each step, in ms: iproute2 and friends, then the nft tables. */
  timings: { collect: number; netfilter: number };
}

const WHOLE_DUMPS: readonly SourceName[] = ["iptables-save", "nft-ruleset"];

/**
 * collectNode without the whole-ruleset dumps, then netfilter the trace's way: iptables on demand,
 * nft tables other than iptables-nft's in full.
 */
export async function collectNodeForTrace(opts: CollectNodeOptions): Promise<NodeForTrace> {
  const sources = (opts.sources ?? SOURCES.map((s) => s.name)).filter((s) => !WHOLE_DUMPS.includes(s));
  const t0 = performance.now();
  const capture = await collectNode({ ...opts, sources });
  const state = assembleNodeState(capture);
  const t1 = performance.now();
  const hostPath = resolveNetnsPath(opts.hostNetns);
  const [iptables, nftables] = await Promise.all([
    onDemandIptables(hostPath, opts.exec),
    nftTablesForTrace(hostPath),
  ]);
  if (iptables) state.host.netfilter.iptables = iptables;
  if (nftables) state.host.netfilter.nftables = nftables;
  const timings = { collect: t1 - t0, netfilter: performance.now() - t1 };
  return { state, ...(iptables ? { iptables } : {}), timings };
}

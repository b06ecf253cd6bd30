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
  isIptablesNftShape,
  type NftRuleset,
  type NodeState,
  parseNftJson,
  SOURCES,
  type SourceName,
} from "@netmap/core";
import { type CollectNodeOptions, collectNode } from "./collect-node.js";
import { resolveNetnsPath } from "./netns-exec.js";
import { readNftTables } from "./nft-tables.js";
import { type OnDemandIptablesRuleset, onDemandIptables } from "./on-demand-iptables.js";

/**
 * The nft tables of the netns that an IPv4 trace can cross (family ip/inet, with base chains),
 * leaving out the ones iptables-nft manages (isIptablesNftShape). Undefined when nft is not installed.
 */
export async function nftTablesForTrace(netns: string): Promise<NftRuleset | undefined> {
  // A table without base chains is never entered by a packet; iptables-nft's tables are read by
  // the iptables reader.
  const read = await readNftTables(
    netns,
    (t) => (t.family === "ip" || t.family === "inet") && t.baseChains.length > 0 && !isIptablesNftShape(t),
  );
  if (read.status === "absent") {
    if (read.commands.length === 1) return undefined; // nft missing, or no nf_tables at all
    throw new Error(`${read.commands.at(-1)?.join(" ")} failed: ${read.stderr}`);
  }
  return parseNftJson(read.json);
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

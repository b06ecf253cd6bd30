/**
 * Collecting a node for one trace, reading only what a trace needs where the kernel lets us:
 * everything iproute2 shows (cheap), the host's iptables chain by chain on demand
 * (on-demand-iptables.ts), and of nftables only the tables that are not iptables-nft's.
 *
 * nft: `nft -j list chains` (names and hooks only, fast) tells which tables have base chains; the
 * tables iptables-nft manages are left to the iptables reader. The others are read object by object
 * over netlink as the walk asks (on-demand-nft.ts): `nft list chain` would not do, because nft 1.0.x
 * and 1.1.x build a cache of every set of the table first (3.5 s per call on a 10k-Service
 * kube-proxy table, whose numgen vmaps are 10k anonymous sets), while the kernel answers one
 * chain's netlink dump in milliseconds. Without socat (the netlink carrier) the tables are listed
 * whole with `nft -j list table` into files and parsed lazily (nft-file.ts).
 */
import {
  assembleNodeState,
  isIptablesNftShape,
  type LazyNftRuleset,
  type NftRuleset,
  type NodeState,
  SOURCES,
  type SourceName,
} from "@netmap/core";
import { type CollectNodeOptions, collectNode } from "./collect-node.js";
import { type NetnsExecOptions, resolveNetnsPath } from "./netns-exec.js";
import { type FileBackedNft, listNftTableLazily } from "./nft-file.js";
import { nftTablesToRead } from "./nft-tables.js";
import type { OnDemandSource } from "./on-demand.js";
import { type OnDemandIptablesRuleset, onDemandIptables } from "./on-demand-iptables.js";
import { type OnDemandNftRuleset, onDemandNft } from "./on-demand-nft.js";

/**
 * The nft tables of the netns that an IPv4 trace can cross (family ip/inet, with base chains),
 * leaving out the ones iptables-nft manages (isIptablesNftShape): read on demand over netlink, or,
 * without socat, each listed whole and parsed lazily from a file (nft-file.ts) so a 50 MB
 * kube-proxy table is never held in memory. Undefined when nft is not installed.
 */
export async function nftTablesForTrace(
  netns: string,
  exec?: NetnsExecOptions,
): Promise<{ ruleset: NftRuleset; onDemand?: OnDemandNftRuleset; release: () => void } | undefined> {
  // A table without base chains is never entered by a packet; iptables-nft's tables are read by
  // the iptables reader.
  const which = await nftTablesToRead(
    netns,
    (t) => (t.family === "ip" || t.family === "inet") && t.baseChains.length > 0 && !isIptablesNftShape(t),
    exec,
  );
  if (which.status === "absent") {
    if (which.toolMissing) return undefined;
    throw new Error(
      `nft -j list chains failed (exit ${which.exitCode}): ${which.stderr.trim()}${
        /you must be root|Operation not permitted/.test(which.stderr)
          ? " (reading nf_tables needs CAP_NET_ADMIN: check the probe's securityContext)"
          : ""
      }`,
    );
  }
  const onDemand = await onDemandNft(netns, which.listing, which.tables, exec);
  if (onDemand) {
    const version = versionOf(which.listing.json);
    if (version) onDemand.version = version;
    return { ruleset: onDemand, onDemand, release: () => onDemand.close() };
  }
  const files: FileBackedNft[] = [];
  const release = () => {
    for (const f of files) f.release();
  };
  try {
    for (const t of which.tables) files.push(await listNftTableLazily(netns, t.family, t.name, exec));
  } catch (err) {
    release();
    throw err;
  }
  const parts: LazyNftRuleset[] = files.map((f) => f.ruleset);
  const version = parts[0]?.version ?? versionOf(which.listing.json);
  const ruleset = { tables: parts.flatMap((p) => p.tables), ...(version ? { version } : {}) };
  Object.defineProperty(ruleset, "stats", {
    enumerable: false,
    value: () =>
      parts.reduce(
        (sum, p) => {
          const s = p.stats();
          return {
            chainsParsed: sum.chainsParsed + s.chainsParsed,
            rulesParsed: sum.rulesParsed + s.rulesParsed,
          };
        },
        { chainsParsed: 0, rulesParsed: 0 },
      ),
  });
  return { ruleset, release };
}

/** The nft version from a listing's metainfo. */
function versionOf(listing: string): string | undefined {
  return /"metainfo":\s*\{[^}]*"version":\s*"([^"]+)"/.exec(listing)?.[1];
}

export interface NodeForTrace {
  state: NodeState;
  /** The host's iptables, read on demand while tracing. */
  iptables?: OnDemandIptablesRuleset;
  /** The host's nft tables, read on demand over netlink (absent without socat or nft). */
  nft?: OnDemandNftRuleset;
  /** What traceOnDemand reads between runs for this node: `iptables` and `nft`. */
  onDemand: OnDemandSource[];
  /** Wall time of each step from the start, in ms: iproute2 and friends; netfilter (read alongside). */
  timings: { collect: number; netfilter: number };
  /** Frees what the lazily read nft tables hold open (their files). Call it when the trace is done. */
  release(): void;
}

/** Read on demand in the host netns; pod netns rulesets are small and read whole (iptables-save). */
const WHOLE_DUMPS: readonly SourceName[] = ["iptables-save", "nft-ruleset"];

/**
 * collectNode without the whole-ruleset dumps, then netfilter the trace's way: iptables chain by
 * chain, nft tables other than iptables-nft's object by object (both on demand).
 */
export async function collectNodeForTrace(opts: CollectNodeOptions): Promise<NodeForTrace> {
  const sources = (opts.sources ?? SOURCES.map((s) => s.name)).filter((s) => s !== "nft-ruleset");
  const hostPath = resolveNetnsPath(opts.hostNetns);
  const t0 = performance.now();
  let tNetfilter = t0;
  // Netfilter is read alongside iproute2 (the nft table listing is the long pole).
  const netfilter = Promise.all([
    onDemandIptables(hostPath, opts.exec),
    nftTablesForTrace(hostPath, opts.exec),
  ]).then((r) => {
    tNetfilter = performance.now();
    return r;
  });
  // Awaited below; marked handled now, so that a failure while iproute2 is still being read (no
  // NET_ADMIN, a damaged nft listing) is that await's error, not an unhandled rejection that
  // ends the process.
  netfilter.catch(() => {});
  let state: NodeState;
  try {
    state = assembleNodeState(await collectNode({ ...opts, sources, hostSkip: [...WHOLE_DUMPS] }));
  } catch (err) {
    // collectNode's error is the one reported; what netfilter opened meanwhile is freed.
    const opened = await netfilter.catch(() => undefined);
    opened?.[1]?.release();
    throw err;
  }
  const t1 = performance.now();
  const [iptables, nft] = await netfilter;
  if (iptables) state.host.netfilter.iptables = iptables;
  if (nft) state.host.netfilter.nftables = nft.ruleset;
  const timings = { collect: t1 - t0, netfilter: tNetfilter - t0 };
  const onDemand: OnDemandSource[] = [];
  if (iptables) onDemand.push(iptables);
  if (nft?.onDemand) onDemand.push(nft.onDemand);
  return {
    state,
    ...(iptables ? { iptables } : {}),
    ...(nft?.onDemand ? { nft: nft.onDemand } : {}),
    onDemand,
    timings,
    release: () => nft?.release(),
  };
}

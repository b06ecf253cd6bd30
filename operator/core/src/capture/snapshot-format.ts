/**
 * The on-disk snapshot format (`kubectl netmap snapshot`), shared by the writer (probe) and the
 * reader (plugin, tests):
 *
 *   <dir>/<node>/manifest.json
 *   <dir>/<node>/host/<source file>          the node's host netns
 *   <dir>/<node>/netns/<netns name>/<file>   each pod netns that hangs off the node
 *
 * Several nodes' snapshots can live side by side in one <dir>.
 */
import type { PodRef } from "../model/state.js";
import type { SourceName } from "./sources.js";

export const SNAPSHOT_FORMAT_VERSION = 1;

export interface CapturedSource {
  /**
   * The exact argv that was run, or for a source assembled from several commands (`commands`),
   * the one command whose output it stands for (`nft -j list ruleset`).
   */
  argv: string[];
  /**
   * Set when the output was assembled from several commands rather than by running `argv`: the
   * exact argv of each, in the order they ran. nft-ruleset is `nft -j list chains`,
   * then `nft -j list table <family> <name>` for each table that is not
   * iptables-nft's, merged into one `{"nftables": [metainfo, …]}` document. Absent in snapshots
   * taken before this field existed (their nft-ruleset is the whole `nft -j list ruleset`).
   */
  commands?: string[][];
  /** "ok", or "absent" when an optional tool is not installed / the kernel lacks the feature. */
  status: "ok" | "absent";
  exitCode?: number;
  /** stderr of an absent/failed optional source, for the record. */
  stderr?: string;
  /**
   * Size of the captured stdout in bytes (status "ok"). Lets a reader tell an output that was
   * really empty (`iptables-save` in a netns without rules) from a file lost or truncated later.
   */
  bytes?: number;
}

export interface NetnsManifest {
  /** "host" or the pod netns name. */
  netns: string;
  /** Directory relative to the node directory ("host", "netns/cni-…"). */
  dir: string;
  /** Where the netns was read from: /proc/1/ns/net, /var/run/netns/<name>, /proc/<pid>/ns/net. */
  path: string;
  /** Pod addresses found in the netns (pod netns only). */
  ips?: string[];
  pod?: PodRef;
  sources: Partial<Record<SourceName, CapturedSource>>;
}

export interface SnapshotManifest {
  formatVersion: number;
  node: string;
  capturedAt: string;
  netmapVersion: string;
  /** Tool versions as they reported themselves (ip -V, iptables -V, nft -v). */
  tools: Record<string, string>;
  netns: NetnsManifest[];
}

/** One netns as captured: its manifest entry and the raw output of each source. */
export interface NetnsCapture {
  manifest: NetnsManifest;
  /** Raw stdout of each captured source, keyed by source name. */
  outputs: Partial<Record<SourceName, string>>;
}

/** One node as captured by a probe (or read back from a snapshot directory). */
export interface NodeCapture {
  manifest: SnapshotManifest;
  /** The host netns first, then the pod netns. */
  netns: NetnsCapture[];
}

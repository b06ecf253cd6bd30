/**
 * Reading nft tables one by one instead of `nft -j list ruleset`: `nft -j list chains` (names and
 * hooks, fast) tells which tables exist and which are iptables-nft's
 * (isIptablesNftShape, the rule the nft evaluator applies too); only the kept tables are listed,
 * with `nft -j list table <family> <name>`, and spliced into one ruleset-shaped document.
 *
 * Why: on an iptables-mode node with the iptables-nft backend, `nft -j list ruleset` prints
 * iptables-nft's own translation of kube-proxy's rules (32 s and 67 MB with 10k Services), which
 * netmap reads from iptables-save anyway.
 */
import { mergeNftJson, NftChainListing, type NftTableShape } from "@netmap/core";
import { type NetnsExecOptions, netnsExec } from "./netns-exec.js";

/** The merged document and every command that went into it. */
export type NftTablesRead =
  | { status: "ok"; json: string; commands: string[][]; tables: NftTableShape[] }
  | { status: "absent"; exitCode: number; stderr: string; commands: string[][] };

/** Tables read in full at most (a node with more nft tables than this is not a node). */
const MAX_NFT_TABLES = 64;

/** The tables `keep` accepts, from `nft -j list chains` (also returned: the listing, indexed). */
export async function nftTablesToRead(
  netns: string,
  keep: (t: NftTableShape) => boolean,
  exec?: NetnsExecOptions,
): Promise<
  | { status: "ok"; tables: NftTableShape[]; listing: NftChainListing }
  | { status: "absent"; exitCode: number; stderr: string; toolMissing: boolean }
> {
  const chains = await netnsExec(netns, ["nft", "-j", "list", "chains"], exec);
  if (chains.toolMissing || chains.exitCode !== 0) {
    const { exitCode, toolMissing } = chains;
    return { status: "absent", exitCode, stderr: chains.stderr.trim(), toolMissing };
  }
  const listing = new NftChainListing(chains.stdout);
  const tables = listing.shapes().filter(keep);
  if (tables.length > MAX_NFT_TABLES) throw new Error(`more than ${MAX_NFT_TABLES} nft tables to read`);
  return { status: "ok", tables, listing };
}

/**
 * Lists the tables of `netns` that `keep` accepts, merged into one `{"nftables": [...]}` document.
 * "absent" when nft is not installed or a command fails (the caller decides whether that matters).
 */
export async function readNftTables(
  netns: string,
  keep: (t: NftTableShape) => boolean,
  exec?: NetnsExecOptions,
): Promise<NftTablesRead> {
  const commands: string[][] = [["nft", "-j", "list", "chains"]];
  const which = await nftTablesToRead(netns, keep, exec);
  if (which.status === "absent") {
    const { exitCode, stderr } = which;
    return { status: "absent", exitCode, stderr, commands };
  }
  const docs: string[] = [];
  for (const t of which.tables) {
    const argv = ["nft", "-j", "list", "table", t.family, t.name];
    commands.push(argv);
    const r = await netnsExec(netns, argv, exec);
    if (r.exitCode !== 0) {
      return { status: "absent", exitCode: r.exitCode, stderr: r.stderr.trim(), commands };
    }
    docs.push(r.stdout);
  }
  return { status: "ok", json: mergeNftJson(which.listing.json, docs), commands, tables: which.tables };
}

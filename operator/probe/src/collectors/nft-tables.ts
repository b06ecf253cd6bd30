/**
 * Reading nft tables one by one instead of `nft -j list ruleset`: `nft -j list tables` and
 * `nft -j list chains` (names and hooks, fast) tell which tables exist and which are iptables-nft's
 * (isIptablesNftShape, the rule the nft evaluator applies too); only the kept tables are listed,
 * with `nft -j list table <family> <name>`, and spliced into one ruleset-shaped document.
 *
 * Why: on an iptables-mode node with the iptables-nft backend, `nft -j list ruleset` prints
 * iptables-nft's own translation of kube-proxy's rules (32 s and 67 MB with 10k Services), which
 * netmap reads from iptables-save anyway.
 */
import { mergeNftJson, type NftTableShape, nftTableShapes } from "@netmap/core";
import { type NetnsExecOptions, netnsExec } from "./netns-exec.js";

/** The merged document and every command that went into it. */
export type NftTablesRead =
  | { status: "ok"; json: string; commands: string[][]; tables: NftTableShape[] }
  | { status: "absent"; exitCode: number; stderr: string; commands: string[][] };

/** Tables read in full at most (a node with more nft tables than this is not a node). */
const MAX_NFT_TABLES = 64;

/**
 * Lists the tables of `netns` that `keep` accepts, merged into one `{"nftables": [...]}` document.
 * "absent" when nft is not installed or a command fails (the caller decides whether that matters).
 */
export async function readNftTables(
  netns: string,
  keep: (t: NftTableShape) => boolean,
  exec?: NetnsExecOptions,
): Promise<NftTablesRead> {
  const commands: string[][] = [];
  const run = async (argv: string[]) => {
    commands.push(argv);
    return netnsExec(netns, argv, exec);
  };
  const tables = await run(["nft", "-j", "list", "tables"]);
  if (tables.toolMissing || tables.exitCode !== 0) {
    return { status: "absent", exitCode: tables.exitCode, stderr: tables.stderr.trim(), commands };
  }
  const chains = await run(["nft", "-j", "list", "chains"]);
  if (chains.exitCode !== 0) {
    return { status: "absent", exitCode: chains.exitCode, stderr: chains.stderr.trim(), commands };
  }
  const kept = nftTableShapes(tables.stdout, chains.stdout).filter(keep);
  if (kept.length > MAX_NFT_TABLES) throw new Error(`more than ${MAX_NFT_TABLES} nft tables to read`);
  const docs: string[] = [];
  for (const t of kept) {
    const r = await run(["nft", "-j", "list", "table", t.family, t.name]);
    if (r.exitCode !== 0) {
      return { status: "absent", exitCode: r.exitCode, stderr: r.stderr.trim(), commands };
    }
    docs.push(r.stdout);
  }
  return { status: "ok", json: mergeNftJson(tables.stdout, docs), commands, tables: kept };
}

/**
 * Test helpers for the nftables parser and evaluator tests: the captured files next to this module,
 * and a reader for nft's own listing. (Lives in testdata/ so it is not built into the package.)
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { NftRuleset } from "../../../model/nftables.js";
import { parseNftJson } from "../parse.js";

/** Names of the `nft -j list ruleset` captures made by capture.sh. */
export type CaptureName =
  | "golden-kube-proxy"
  | "k3s-riset-kube-proxy"
  | "flannel-ipv4"
  | "iptables-nft-plus-flannel"
  | "render-coverage";

/** Reads a file from testdata/. */
export function testdataFile(name: string): string {
  return readFileSync(fileURLToPath(new URL(name, import.meta.url)), "utf8");
}

/** The parsed JSON capture. */
export function loadCapture(name: CaptureName): NftRuleset {
  return parseNftJson(testdataFile(`${name}.nft.json`));
}

/**
 * Listing reader: reads the rule lines of an `nft list ruleset` listing, per "family table/chain", so
 * tests can compare the renderer with nft's own rendering of the same captured ruleset.
 */
export function listingRules(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table = "";
  let chain: string | undefined;
  let inSet = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const t = /^table (\S+) (\S+) \{$/.exec(line);
    if (t) {
      table = `${t[1]} ${t[2]}`;
      continue;
    }
    const c = /^chain (\S+) \{$/.exec(line);
    if (c?.[1] !== undefined) {
      chain = `${table}/${c[1]}`;
      out.set(chain, []);
      continue;
    }
    if (/^(set|map) \S+ \{$/.test(line)) {
      inSet = true;
      continue;
    }
    if (line === "}") {
      chain = undefined;
      inSet = false;
      continue;
    }
    if (inSet || chain === undefined || line === "") continue;
    if (/^type \S+ hook /.test(line) || /^comment "/.test(line)) continue;
    out.get(chain)?.push(line);
  }
  return out;
}

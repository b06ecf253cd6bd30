/** NEWRULE messages of one chain → NftRule[], as parseNftJson builds them from `nft -j list chain`. */
import type { NftRule, NftSet } from "../../../model/nftables.js";
import { renderNftExpr } from "../render.js";
import { parseUdata, udataString } from "./attrs.js";
import { NFT_MSG_NEWRULE, UDATA_RULE_COMMENT } from "./constants.js";
import { RuleDelinearizer } from "./delinearize.js";
import { parseExpressions } from "./exprs.js";
import { readRuleMessage, referencedSets } from "./messages.js";
import type { NetlinkMessage } from "./reader.js";

/** Kernel names of anonymous sets: `__set%d`, `__map%d`. */
const ANONYMOUS = /^__(set|map)\d+$/;

/**
 * Names of the anonymous sets (NFT_SET_ANONYMOUS flag unknown here: the kernel names them
 * `__set%d`/`__map%d`) that the rules reference via lookup/dynset, which must be fetched (kind "set"
 * + "elements") before decodeNftRules can print them inline.
 */
export function anonymousSetsOf(rules: readonly NetlinkMessage[]): string[] {
  const names = new Set<string>();
  for (const m of rules) {
    for (const name of referencedSets(readRuleMessage(m, NFT_MSG_NEWRULE).expressions)) {
      if (ANONYMOUS.test(name)) names.add(name);
    }
  }
  return [...names];
}

/**
 * NEWRULE messages of one chain → NftRule[] exactly as parseNftJson would build them from
 * `nft -j list chain <family> <table> <chain>` of the same kernel state (family, table, chain,
 * handle, index 1-based, expr in nft's JSON form, comment from NFTA_RULE_USERDATA, text via
 * renderNftExpr). `anon(name)` returns a decoded anonymous set (decodeNftSet). Throws
 * NftNetlinkUnsupported (naming the expression/attribute) for anything it cannot render exactly as
 * nft does: the caller then falls back to `nft -j list table`.
 */
export function decodeNftRules(
  rules: readonly NetlinkMessage[],
  anon: (name: string) => NftSet | undefined,
): NftRule[] {
  return rules.map((m, i) => {
    const r = readRuleMessage(m, NFT_MSG_NEWRULE);
    const where = `rule ${r.table}/${r.chain}/${r.handle}`;
    const expr = new RuleDelinearizer(r.family, anon).statements(parseExpressions(r.expressions, where));
    let comment: string | undefined;
    if (r.userdata) {
      const c = parseUdata(r.userdata, where).get(UDATA_RULE_COMMENT);
      if (c !== undefined) comment = udataString(c, where);
    }
    const rendered = renderNftExpr(expr);
    const rule: NftRule = {
      family: r.family,
      table: r.table,
      chain: r.chain,
      handle: r.handle,
      index: i + 1,
      expr,
      text: comment !== undefined ? `${rendered} comment ${JSON.stringify(comment)}` : rendered,
    };
    if (comment !== undefined) rule.comment = comment;
    return rule;
  });
}

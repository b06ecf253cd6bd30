/** iptables parsers: `iptables-save [-c]` (lazy, indexed) and `iptables -S`. */
export {
  BUILTIN_CHAINS,
  type ChainDeclaration,
  isTableName,
  LazyIptablesTable,
  type ParseStats,
  TABLE_NAMES,
} from "./lazy-table.js";
export { parseIptablesS } from "./listing-s.js";
export { parseIptablesRule, type RuleLocation } from "./rule.js";
export { type LazyIptablesRuleset, parseIptablesSave } from "./save.js";
export { type IptablesToken, TokenizeError, tokenizeIptables } from "./tokenize.js";

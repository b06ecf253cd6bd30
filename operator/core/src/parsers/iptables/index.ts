/** iptables parsers: `iptables-save [-c]` (lazy, indexed) and `iptables -S`. */
export {
  IPTABLES_BUILTIN_CHAINS,
  IPTABLES_TABLE_NAMES,
  type IptablesChainDeclaration,
  type IptablesParseStats,
  isIptablesTableName,
  LazyIptablesTable,
} from "./lazy-table.js";
export { parseIptablesS } from "./listing-s.js";
export { type IptablesRuleLocation, parseIptablesRule } from "./rule.js";
export { type LazyIptablesRuleset, parseIptablesSave } from "./save.js";
export { type IptablesToken, IptablesTokenizeError, tokenizeIptables } from "./tokenize.js";

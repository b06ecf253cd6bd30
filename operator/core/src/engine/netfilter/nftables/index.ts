/** nftables evaluator: base chains per hook from `nft -j list ruleset`, per the netfilter contract. */
export { isIptablesNftTable, nftBaseChains } from "./base-chains.js";
export { MAX_DEPTH, MAX_RULES } from "./evaluate.js";

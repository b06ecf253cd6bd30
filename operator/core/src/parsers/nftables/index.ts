/** `nft -j list ruleset` parser and the rule renderer used for evidence. */
export { parseNftJson } from "./parse.js";
export { renderNftExpr } from "./render.js";
export { isIptablesNftShape, mergeNftJson, type NftTableShape, nftTableShapes } from "./tables.js";

/** `nft -j list ruleset` parser and the rule renderer used for evidence. */

export {
  type HookedChainsSource,
  hookedChains,
  LazyNftChains,
  type LazyNftRuleset,
  type NftParseStats,
} from "./lazy-chains.js";
export {
  anonymousSetsOf,
  decodeNftRules,
  decodeNftSet,
  decodeNftTable,
  encodeNftQuery,
  type NetlinkMessage,
  NetlinkReplyReader,
  NftNetlinkError,
  type NftNetlinkQuery,
  NftNetlinkUnsupported,
  type NftTableHeader,
} from "./netlink/index.js";
export { type NftParseOptions, type NftText, parseNftIndexed, parseNftJson, scanError } from "./parse.js";
export { renderNftExpr } from "./render.js";
export { NftChunkScanner, type NftElementIndex, scanNftElements } from "./scan.js";
export {
  isIptablesNftShape,
  mergeNftJson,
  NftChainListing,
  type NftTableShape,
  nftTableShapes,
} from "./tables.js";

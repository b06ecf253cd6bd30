/**
 * Pure decoder of the kernel's nf_tables netlink replies (one chain's rules, one set with its
 * elements) into the model objects parseNftJson builds from `nft -j` output, so a probe can read the
 * few chains and sets a trace needs without nft listing a whole (10k-Service) table.
 */
export { NftNetlinkError, NftNetlinkUnsupported } from "./errors.js";
export { encodeNftQuery, type NftNetlinkQuery } from "./query.js";
export { type NetlinkMessage, NetlinkReplyReader } from "./reader.js";
export { anonymousSetsOf, decodeNftRules } from "./rules.js";
export { decodeNftSet } from "./sets.js";
export { decodeNftTable, type NftTableHeader } from "./table.js";

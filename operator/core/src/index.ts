export * from "./capture/index.js";
export * from "./engine/index.js";
export * from "./model/index.js";
export { ParseError } from "./parsers/errors.js";
export * from "./parsers/iproute/index.js";
export * from "./parsers/iptables/index.js";
export * from "./parsers/ipvs/index.js";
export * from "./parsers/nftables/index.js";
export * from "./snapshot/index.js";

export * from "./hash.js";
export * from "./iptables.js";
export * from "./model.js";
export * from "./nftables.js";

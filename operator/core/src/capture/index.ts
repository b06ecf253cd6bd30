export * from "./snapshot-format.js";
export * from "./sources.js";

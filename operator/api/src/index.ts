export * from "./schema.js";
export * from "./segment-crd.js";
export * from "./types.js";
export * from "./validate.js";

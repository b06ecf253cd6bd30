export * from "./crd-files.js";
export * from "./schema.js";
export * from "./segment-crd.js";
export * from "./types.js";

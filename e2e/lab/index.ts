export * from "./cleanup.js";
export * from "./cni.js";
export * from "./exec.js";
export * from "./kindnet.js";
export * from "./lab.js";
export * from "./overlay.js";
export * from "./traffic.js";

/**
 * kubectl-netmap as a library: the entry point, and the pure renderers (a TraceResult in, text out)
 * for tools that want netmap's views without its CLI.
 */
export { ExitCode } from "./cli/errors.js";
export { main } from "./main.js";
export { renderJson, renderYaml } from "./render/data.js";
export { renderMermaid } from "./render/mermaid.js";
export { type PodWiring, podWiring, renderPodText } from "./render/pod-wiring.js";
export { renderText, type TextOptions } from "./render/text.js";
export type { OnlineTraceRequest } from "./source/online.js";
export type { ProgressEvent, TraceSource } from "./source/types.js";

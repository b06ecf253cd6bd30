export { assembleNetns, assembleNodeState, CaptureError, clusterFactsFromNodes } from "./assemble.js";

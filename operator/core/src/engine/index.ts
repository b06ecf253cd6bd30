export { cidrContains, isAddress, parseAddress, parsePrefix, sameAddress } from "./ip.js";
export type {
  BaseChain,
  BaseChainSource,
  ChainOutcome,
  Hook,
  NetfilterContext,
  NetfilterStep,
} from "./netfilter/types.js";
export { MAX_NETNS_TRANSITIONS, type NodeWalkInput, walkNode } from "./node-walk.js";
export { MAX_NODE_WALKS, nextStep, type TraceStep, unwalkedNode } from "./plan.js";
export { lookupRoute } from "./routing.js";
export type { TraceInput } from "./trace.js";
export { trace } from "./trace.js";

export { cidrContains, isAddress, parseAddress, parsePrefix, sameAddress } from "./ip.js";
export type {
  BaseChain,
  BaseChainSource,
  ChainOutcome,
  Hook,
  NetfilterContext,
  NetfilterStep,
} from "./netfilter/types.js";
export { lookupRoute } from "./routing.js";
export type { TraceInput } from "./walk.js";
export { trace } from "./walk.js";

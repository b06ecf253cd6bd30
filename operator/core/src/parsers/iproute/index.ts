/**
 * iproute2 / bridge / sysctl parsers: pure text → model, one file per source, plus the formatters
 * that turn model objects back into iproute2-style evidence lines.
 */
export { parseIpAddrJson, parseIpAddrText } from "./addr.js";
export { parseBridgeLinkJson, parseBridgeLinkText } from "./bridge-link.js";
export { parseBridgeFdbJson, parseBridgeFdbText } from "./fdb.js";
export {
  formatAddress,
  formatBridgePort,
  formatFdb,
  formatLink,
  formatNeighbour,
  formatPolicyRule,
  formatRoute,
} from "./format.js";
export { parseIpLinkJson } from "./link-json.js";
export { parseIpLinkText } from "./link-text.js";
export { parseIpNeighJson, parseIpNeighText } from "./neigh.js";
export { parseNetnsListIdJson } from "./netns.js";
export { parseIpRouteJson, parseIpRouteText } from "./route.js";
export { parseIpRuleJson, parseIpRuleText } from "./rule.js";
export { parseSysctl } from "./sysctl.js";

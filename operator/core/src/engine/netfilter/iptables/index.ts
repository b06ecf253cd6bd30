/** The iptables evaluator: base chains per hook, walked like netfilter, with kube-proxy's endpoint choice. */
export { IPTABLES_HOOKS, iptablesBaseChains } from "./base-chains.js";
export { dnatDestination, type EndpointPlan, planEndpoints } from "./endpoints.js";
export { WALK_LIMITS } from "./walk.js";

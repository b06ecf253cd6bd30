/**
 * Services in kube-proxy's nftables mode on the live lab (see services-suite.ts): kube-proxy's
 * `nft -f` transaction loaded into every node, traced, and checked with real connections and
 * conntrack (kube-proxy's nftables rules have no counters).
 */
import { serviceFidelity } from "./services-suite.js";

serviceFidelity("nftables", "svcnft");

/**
 * Services in kube-proxy's iptables mode on the live lab (see services-suite.ts): kube-proxy's
 * iptables-restore input loaded into every node, traced, and checked with real connections,
 * iptables rule counters and conntrack.
 */
import { serviceFidelity } from "./services-suite.js";

serviceFidelity("iptables", "svcipt");

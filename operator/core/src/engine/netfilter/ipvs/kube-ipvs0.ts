/**
 * What kube-proxy's IPVS mode sets up around IPVS itself. It binds every ClusterIP (and external
 * IP / LoadBalancer IP) as a /32 to the dummy device kube-ipvs0, which stays DOWN: the kernel still
 * adds a `local` route for an address on a down device, so the Service address is a local address
 * of the node, the packet is routed to LOCAL_IN, and IPVS intercepts it there (its LOCAL_IN hook
 * runs at priority NF_IP_PRI_NAT_SRC - 2, after the filter INPUT chain). Beside it kube-proxy keeps
 * ipsets (KUBE-CLUSTER-IP `ip,port`, KUBE-LOOP-BACK `ip,port,ip` for hairpin, KUBE-NODE-PORT-TCP,
 * …) and a few nat rules (KUBE-SERVICES, KUBE-MARK-MASQ, KUBE-POSTROUTING, KUBE-NODE-PORT) that
 * match those sets with `-m set --match-set KUBE-CLUSTER-IP dst,dst`; the iptables evaluator
 * decides them with the ipsets of the netns (state.netfilter.ipsets), so nothing IPVS-specific is
 * needed for them here.
 *
 * This kernel has no IPVS: the mode is covered by real captured outputs only (see lookup.ts).
 */
import type { Address } from "../../../model/addr.js";
import type { NetnsState } from "../../../model/state.js";
import { sameAddress } from "../../ip.js";

/** The dummy device kube-proxy binds Service addresses to in IPVS mode. */
export const KUBE_IPVS_DEVICE = "kube-ipvs0";

/** The kube-ipvs0 address equal to `ip`, if kube-proxy bound it in this netns. */
export function kubeIpvsAddress(state: NetnsState, ip: string): Address | undefined {
  return state.addresses.find((a) => a.ifname === KUBE_IPVS_DEVICE && sameAddress(a.local, ip));
}

/** Whether this netns looks like a kube-proxy IPVS-mode node: it has the kube-ipvs0 device. */
export function hasKubeIpvsDevice(state: NetnsState): boolean {
  return state.links.some((l) => l.name === KUBE_IPVS_DEVICE);
}

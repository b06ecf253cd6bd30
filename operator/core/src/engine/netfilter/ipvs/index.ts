/**
 * The IPVS evaluator (kube-proxy IPVS mode): virtual server lookup, scheduler probabilities, the
 * kube-ipvs0 device. Covered by real captured outputs only: this kernel has no IPVS.
 */
export { hasKubeIpvsDevice, KUBE_IPVS_DEVICE, kubeIpvsAddress } from "./kube-ipvs0.js";
export {
  findVirtualServer,
  hostPort,
  type IpvsStep,
  ipvsadmCommand,
  ipvsLookup,
  schedulerShares,
  serviceName,
} from "./lookup.js";

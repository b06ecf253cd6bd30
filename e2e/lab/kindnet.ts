/**
 * What kind's default network, kindnet, sets up on a node besides the pods' CNI calls: a conflist
 * of the CNI `ptp` plugin with `host-local` IPAM (and `portmap`), as kindnetd writes it to
 * /etc/cni/net.d/10-kindnet.conflist; a route to every other node's pod CIDR via that node's
 * address; and its masquerade rules (chain KIND-MASQ-AGENT). Sources: kubernetes-sigs/kind,
 * images/kindnetd/cmd/kindnetd (routes.go: netlink.RouteAdd{Dst: podCIDR, Gw: nodeIP}; masq.go:
 * the three rules below, with their comments), and a real kind v1.26 node's
 * /etc/cni/net.d/10-kindnet.conflist (terassyi/blog-terassyi-net, content/posts/rscni.md at
 * 2c2dd1f05b1ebe3e8ed24cb5c8845aaeb6655959). Only ever inside the lab's node netns.
 */
import { inNetns, runOk } from "./exec.js";

export const KINDNET_NETWORK = "kindnet";
export const KINDNET_CONFLIST = "10-kindnet.conflist";
export const KINDNET_MASQ_CHAIN = "KIND-MASQ-AGENT";

export interface KindnetConflistOptions {
  podCidr: string;
  mtu: number;
  ipamDataDir: string;
  cniVersion: string;
}

/** The node's conflist, as kindnetd writes it (ptp without ipMasq: kindnetd masquerades itself). */
export function kindnetConflist(o: KindnetConflistOptions): Record<string, unknown> {
  return {
    cniVersion: o.cniVersion,
    name: KINDNET_NETWORK,
    plugins: [
      {
        type: "ptp",
        ipMasq: false,
        ipam: {
          type: "host-local",
          dataDir: o.ipamDataDir,
          routes: [{ dst: "0.0.0.0/0" }],
          ranges: [[{ subnet: o.podCidr }]],
        },
        mtu: o.mtu,
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** kindnetd's route to another node's pods: its pod CIDR via its address (the kernel picks eth0). */
export async function kindnetRoute(
  netns: string,
  remotePodCidr: string,
  remoteNodeIp: string,
): Promise<void> {
  await runOk(inNetns(netns, ["ip", "route", "add", remotePodCidr, "via", remoteNodeIp]));
}

/**
 * kindnetd's masquerade agent: traffic to a non-local address goes through KIND-MASQ-AGENT, which
 * returns for the cluster's pod CIDR and masquerades the rest. Arguments in kindnetd's order.
 */
export async function installKindnetMasq(netns: string, clusterCidr: string): Promise<void> {
  const ipt = (args: string[]) => runOk(inNetns(netns, ["iptables", "-t", "nat", ...args]));
  await ipt(["-N", KINDNET_MASQ_CHAIN]);
  await ipt([
    "-A",
    KINDNET_MASQ_CHAIN,
    "-d",
    clusterCidr,
    "-j",
    "RETURN",
    "-m",
    "comment",
    "--comment",
    "kind-masq-agent: local traffic is not subject to MASQUERADE",
  ]);
  await ipt([
    "-A",
    KINDNET_MASQ_CHAIN,
    "-j",
    "MASQUERADE",
    "-m",
    "comment",
    "--comment",
    "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)",
  ]);
  await ipt([
    "-A",
    "POSTROUTING",
    "-m",
    "addrtype",
    "!",
    "--dst-type",
    "LOCAL",
    "-j",
    KINDNET_MASQ_CHAIN,
    "-m",
    "comment",
    "--comment",
    "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain",
  ]);
}

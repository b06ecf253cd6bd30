/**
 * Cross-node wiring between lab nodes: a flannel-style VXLAN (`flannel.1`, VNI 1, UDP 8472,
 * nolearning, onlink routes via each remote VTEP address, permanent neighbour and FDB entries), or
 * host-gw routes over the underlay. Only ever inside the lab's node netns.
 */
import { inNetns, runOk } from "./exec.js";

export const VXLAN_DEV = "flannel.1";
export const VXLAN_MTU = 1450;

export interface OverlayNode {
  index: number;
  netns: string;
  underlayIp: string;
  podCidr: string;
}

function podNet(index: number): string {
  return `10.244.${index}.0`;
}

async function ip(netns: string, args: string[]): Promise<string> {
  return runOk(inNetns(netns, ["ip", ...args]));
}

/** Creates flannel.1 on one node; returns its MAC (the node's VTEP MAC). */
export async function createVtep(n: OverlayNode): Promise<string> {
  await ip(n.netns, [
    "link",
    "add",
    VXLAN_DEV,
    "type",
    "vxlan",
    "id",
    "1",
    "dstport",
    "8472",
    "nolearning",
    "local",
    n.underlayIp,
    "dev",
    "eth0",
  ]);
  await ip(n.netns, ["link", "set", VXLAN_DEV, "mtu", String(VXLAN_MTU)]);
  await ip(n.netns, ["addr", "add", `${podNet(n.index)}/32`, "dev", VXLAN_DEV]);
  await ip(n.netns, ["link", "set", VXLAN_DEV, "up"]);
  const info = JSON.parse(await ip(n.netns, ["-j", "link", "show", VXLAN_DEV])) as Array<{
    address?: string;
  }>;
  const mac = info[0]?.address;
  if (!mac) throw new Error(`no MAC on ${VXLAN_DEV} in ${n.netns}`);
  return mac;
}

/** Programs `local` to reach `remote`'s pod CIDR over VXLAN, as flanneld does. */
export async function vxlanPeer(
  local: OverlayNode,
  remote: OverlayNode,
  remoteVtepMac: string,
): Promise<void> {
  const gw = podNet(remote.index);
  await ip(local.netns, ["route", "add", remote.podCidr, "via", gw, "dev", VXLAN_DEV, "onlink"]);
  await ip(local.netns, [
    "neigh",
    "replace",
    gw,
    "lladdr",
    remoteVtepMac,
    "dev",
    VXLAN_DEV,
    "nud",
    "permanent",
  ]);
  await runOk(
    inNetns(local.netns, [
      "bridge",
      "fdb",
      "append",
      remoteVtepMac,
      "dev",
      VXLAN_DEV,
      "dst",
      remote.underlayIp,
      "self",
      "permanent",
    ]),
  );
}

/** Programs `local` to reach `remote`'s pod CIDR directly over the underlay (host-gw). */
export async function hostGwPeer(local: OverlayNode, remote: OverlayNode): Promise<void> {
  await ip(local.netns, ["route", "add", remote.podCidr, "via", remote.underlayIp, "dev", "eth0"]);
}

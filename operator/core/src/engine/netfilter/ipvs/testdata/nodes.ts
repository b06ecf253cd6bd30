/**
 * Test nodes for kube-proxy IPVS mode. This kernel has no IPVS, so the IPVS state comes only from
 * real captures (parsers/ipvs/testdata and parsers/iproute/testdata, see their PROVENANCE.md): the
 * virtual servers from `ipvsadm -L -n`, the ipsets from `ipset list`, the nat rules from
 * `iptables -t nat -L -n -v`, kube-ipvs0 from `ip addr`/`ip link`. Each capture is used with the
 * captures of the same cluster only. The pod wiring (netns, veths, bridge, VXLAN) is the engine's
 * test topology (engine/testdata/models.ts) with its addresses rewritten to the capture's, so the
 * real servers of the capture are pods of the model.
 */
import { readFileSync } from "node:fs";
import type { Address } from "../../../../model/addr.js";
import type { Link } from "../../../../model/link.js";
import type { Route } from "../../../../model/route.js";
import type { NetnsState } from "../../../../model/state.js";
import { parseIpAddrText, parseIpLinkText } from "../../../../parsers/iproute/index.js";
import { parseIptablesS } from "../../../../parsers/iptables/index.js";
import { parseIpsetList, parseIpvsadmList } from "../../../../parsers/ipvs/index.js";
import { type Topology, topology } from "../../../testdata/models.js";
import { natListingToS } from "./nat-listing.js";

/** A captured file of a parser's testdata. */
export function capture(parser: "ipvs" | "iproute", name: string): string {
  return readFileSync(new URL(`../../../../parsers/${parser}/testdata/${name}`, import.meta.url), "utf8");
}

/**
 * Rewrites addresses (and device/node names) everywhere in a plain-data value: "a.b.c.d" and
 * "a.b.c.d/len" strings found in `map` (a prefix maps as a whole, an address keeps its /len).
 */
export function remap<T>(value: T, map: Readonly<Record<string, string>>): T {
  const json = JSON.stringify(value).replace(/"([^"\\]+)"/g, (whole, s: string) => {
    const exact = map[s];
    if (exact !== undefined) return JSON.stringify(exact);
    const slash = s.indexOf("/");
    const host = slash > 0 ? map[s.slice(0, slash)] : undefined;
    return host !== undefined ? JSON.stringify(`${host}${s.slice(slash)}`) : whole;
  });
  return JSON.parse(json) as T;
}

/** The kernel's own `local` route for an address (it adds one even while the device is down). */
function localRoute(a: Address): Route {
  return {
    family: 4,
    type: "local",
    table: "local",
    dst: `${a.local}/32`,
    dev: a.ifname,
    protocol: "kernel",
    scope: "host",
    prefsrc: a.local,
    flags: [],
  };
}

/** Adds kube-ipvs0 (link as captured) and its /32 Service addresses with their local routes. */
function bindKubeIpvs0(host: NetnsState, link: Link, addresses: readonly string[]): void {
  const taken = new Set(host.links.map((l) => l.ifindex));
  let ifindex = link.ifindex;
  while (taken.has(ifindex)) ifindex++; // keep the model's veth ifindexes unique
  host.links.push({ ...link, ifindex });
  for (const ip of addresses) {
    const a: Address = { ifindex, ifname: "kube-ipvs0", family: 4, local: ip, prefixlen: 32, scope: "global", flags: [] };
    host.addresses.push(a);
    host.routes.push(localRoute(a));
  }
}

/**
 * minikube-otus (otus-kuber-2022-12/darkzorro79_platform): one node, kube-proxy IPVS mode, pods on
 * docker0 (172.17.0.x), apiserver on the node at :8443. Every IPVS-related piece is that cluster's
 * capture: ipvsadm -L -n, ipset list, iptables -t nat -L -n -v, ip addr show kube-ipvs0. The node
 * address 192.168.136.17 is the capture's apiserver real server (minikube runs it on the node).
 * Pods: 172.17.0.2 (coredns's address in the capture), 172.17.0.3/.4/.5 (web-svc-cip's real servers).
 */
export function minikubeOtus(): Topology {
  const t = topology({ overlay: "host-gw", nodes: 1, podsPerNode: 4 });
  const m = remap(t, {
    "node-1": "minikube",
    cni0: "docker0",
    "10.244.1.0/24": "172.17.0.0/16",
    "10.244.1.1": "172.17.0.1",
    "10.244.1.11": "172.17.0.2",
    "10.244.1.12": "172.17.0.3",
    "10.244.1.13": "172.17.0.4",
    "10.244.1.14": "172.17.0.5",
    "192.168.0.0/24": "192.168.136.0/24",
    "192.168.0.11": "192.168.136.17",
  });
  const host = (m.nodes[0] as { host: NetnsState }).host;
  for (const s of [host, ...(m.nodes[0]?.pods ?? []).map((p) => p.state)]) {
    for (const a of s.addresses) if (a.local.startsWith("172.17.")) a.prefixlen = 16;
  }
  const kubeIpvs0 = capture("iproute", "minikube-otus-ip-addr-show-kube-ipvs0.txt");
  bindKubeIpvs0(
    host,
    parseIpLinkText(kubeIpvs0)[0] as Link,
    parseIpAddrText(kubeIpvs0).map((a) => a.local),
  );
  host.netfilter = {
    ipvs: parseIpvsadmList(capture("ipvs", "minikube-otus-ipvsadm-list-n.txt")),
    ipsets: parseIpsetList(capture("ipvs", "minikube-otus-ipset-list.txt")),
    iptables: parseIptablesS(natListingToS(capture("ipvs", "minikube-otus-iptables-nat-Lnv-ipvs-mode.txt")), "nat"),
  };
  return m;
}

/**
 * kind-tkng (networkop/tkng, `k8s-guide-worker`): the captured node is node-2 of a two-node VXLAN
 * model — address 192.168.224.4 (its NodePort virtual server), pod CIDR 10.244.2.0/24 (its pod
 * gateway 10.244.2.1 has a NodePort virtual server too). IPVS state: ipvsadm -Ln and the
 * KUBE-CLUSTER-IP / KUBE-LOOP-BACK ipsets of that node; kube-ipvs0 is the captured link holding the
 * ClusterIPs of KUBE-CLUSTER-IP, as kube-proxy binds them. The capture has no nat table, so no
 * kube-proxy iptables rules run here. node-1 stands for the other worker: its address
 * 192.168.224.2 is not in the capture. Pods: node-1 10.244.1.6, 10.244.1.4; node-2 10.244.2.4,
 * 10.244.2.2 (all real servers in the capture).
 */
export function kindTkng(): Topology {
  const t = topology({ overlay: "vxlan", nodes: 2, podsPerNode: 2 });
  const m = remap(t, {
    "192.168.0.0/24": "192.168.224.0/24",
    "192.168.0.11": "192.168.224.2",
    "192.168.0.12": "192.168.224.4",
    "10.244.1.11": "10.244.1.6",
    "10.244.1.12": "10.244.1.4",
    "10.244.2.11": "10.244.2.4",
    "10.244.2.12": "10.244.2.2",
  });
  const host = (m.nodes[1] as { host: NetnsState }).host;
  const clusterIp = parseIpsetList(capture("ipvs", "kind-tkng-ipset-list-KUBE-CLUSTER-IP.txt"));
  const loopBack = parseIpsetList(capture("ipvs", "kind-tkng-ipset-list-KUBE-LOOP-BACK.txt"));
  const serviceIps = [...new Set(clusterIp.flatMap((s) => s.members.map((mem) => mem.split(",")[0] as string)))];
  bindKubeIpvs0(host, parseIpLinkText(capture("iproute", "kind-tkng-ip-link-kube-ipvs0-dummy.txt"))[0] as Link, serviceIps);
  host.netfilter = {
    ipvs: parseIpvsadmList(capture("ipvs", "kind-tkng-ipvsadm-Ln-full.txt")),
    ipsets: [...clusterIp, ...loopBack],
  };
  return m;
}

import { describe, expect, it } from "vitest";
import { fixtureReader } from "../../testkit.js";
import { parseIpAddrJson, parseIpAddrText } from "./addr.js";
import { parseBridgeLinkJson } from "./bridge-link.js";
import { parseBridgeFdbJson, parseBridgeFdbText } from "./fdb.js";
import {
  formatAddress,
  formatBridgePort,
  formatFdb,
  formatLink,
  formatNeighbour,
  formatPolicyRule,
  formatRoute,
} from "./format.js";
import { parseIpLinkJson } from "./link-json.js";
import { parseIpLinkText } from "./link-text.js";
import { parseIpNeighJson, parseIpNeighText } from "./neigh.js";
import { parseIpRouteJson, parseIpRouteText } from "./route.js";
import { parseIpRuleJson } from "./rule.js";

const fixture = fixtureReader(import.meta.url);

/** What iproute2 printed, without its trailing blanks (and, for old versions, its double spaces). */
const printed = (name: string, squeeze = false) =>
  fixture(name)
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .map((l) => (squeeze ? l.replace(/ {2,}/g, " ") : l))
    .filter((l) => l !== "");

describe("formatRoute", () => {
  it("prints every route of the lab node exactly as `ip route show table all` did", () => {
    const routes = parseIpRouteJson(fixture("lab-node-ip-route.json"));
    expect(routes.map(formatRoute).join("\n").split("\n")).toEqual(
      printed("lab-node-ip-route-table-all.txt"),
    );
    const pod = parseIpRouteJson(fixture("lab-pod-ip-route.json"));
    expect(pod.map(formatRoute)).toEqual(printed("lab-pod-ip-route-table-all.txt"));
  });

  it("reprints real cluster routing tables line for line", () => {
    for (const name of [
      "flannel-usernetes-azure-ip-route.txt",
      "flannel-flysnow-ip-route.txt",
      "flannel-kind-tkng-ip-route.txt",
      "flannel-k8s117-tangfeixiong-ip-route.txt",
      "flannel-centos7-worker-tangfeixiong-ip-route.txt",
      "calico-vxlan-k8s133-hqwy-ip-route-show.txt",
      "calico-vxlan-k8s133-hqwy-controller-ip-route-show.txt",
      "calico-bird-kind-tkng-ip-route.txt",
      "k0s-v1.34-kuberouter-hqwy-ip-route-show.txt",
    ]) {
      expect(parseIpRouteText(fixture(name)).map(formatRoute), name).toEqual(printed(name));
    }
    // Old iproute2 separated some fields by two blanks; the words are the same.
    const old = "flannel-openstack-2019-k8snode2-ip-route-old-iproute2.txt";
    expect(parseIpRouteText(fixture(old)).map(formatRoute)).toEqual(printed(old, true));
  });

  it("prints flannel's onlink route and a Calico host route the way ip does", () => {
    const [, , , flannel] = parseIpRouteText(fixture("flannel-usernetes-azure-ip-route.txt"));
    expect(flannel && formatRoute(flannel)).toBe("10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink");
    const calico = parseIpRouteText(fixture("calico-vxlan-k8s133-hqwy-ip-route-show.txt"));
    expect(calico.map(formatRoute)).toContain("172.17.255.130 dev cali90b386908a6 scope link");
    expect(calico.map(formatRoute)).toContain("blackhole 172.17.255.128/26 proto 80");
  });
});

describe("formatPolicyRule / formatNeighbour / formatFdb / formatBridgePort", () => {
  it("prints rules exactly as `ip rule` did", () => {
    expect(parseIpRuleJson(fixture("lab-node-ip-rule.json")).map(formatPolicyRule)).toEqual(
      printed("lab-node-ip-rule.txt"),
    );
    expect(
      formatPolicyRule({ family: 4, priority: 32766, not: false, action: "lookup", table: "main" }),
    ).toBe("32766:\tfrom all lookup main");
  });

  it("prints neighbours exactly as `ip neigh` did", () => {
    expect(parseIpNeighJson(fixture("lab-node-ip-neigh.json")).map(formatNeighbour)).toEqual(
      printed("lab-node-ip-neigh.txt"),
    );
    for (const name of ["calico-vxlan-k8s133-hqwy-ip-neigh.txt", "flannel-kind-tkng-ip-neigh-perm.txt"]) {
      expect(parseIpNeighText(fixture(name)).map(formatNeighbour)).toEqual(printed(name));
    }
  });

  it("prints FDB entries exactly as `bridge fdb show` did", () => {
    expect(parseBridgeFdbJson(fixture("lab-node-bridge-fdb.json")).map(formatFdb)).toEqual(
      printed("lab-node-bridge-fdb.txt"),
    );
    const flysnow = "flannel-flysnow-bridge-fdb-show.txt";
    expect(parseBridgeFdbText(fixture(flysnow)).map(formatFdb)).toEqual(printed(flysnow));
  });

  it("prints bridge ports like `bridge link`, without the bogus @peer suffix", () => {
    expect(parseBridgeLinkJson(fixture("lab-node-bridge-link.json")).map(formatBridgePort)).toEqual([
      "4: vethpod1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master cni0 state forwarding priority 32 cost 2",
      "5: vethpod2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master cni0 state forwarding priority 32 cost 2",
    ]);
  });
});

describe("formatLink / formatAddress", () => {
  it("summarises a veth bridge port and the flannel.1 VTEP on one line each", () => {
    const [veth] = parseIpLinkText(fixture("flannel-k8s117-tangfeixiong-ip-d-link-veth-bridge-slave.txt"));
    expect(veth && formatLink(veth)).toBe(
      "10: veth2c65dd67@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master cni0 state UP link/ether 9a:13:12:ef:14:3b link-netnsid 2 veth bridge_slave state forwarding hairpin on learning on flood on",
    );
    const flannel = parseIpLinkJson(fixture("lab-node-ip-link.json")).find((l) => l.name === "flannel.1");
    expect(flannel && formatLink(flannel)).toBe(
      "6: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 state UNKNOWN link/ether e6:28:9c:7f:04:e8 vxlan id 1 local 192.168.100.1 dev eth0 dstport 8472 nolearning ttl auto",
    );
    const [tunl] = parseIpLinkText(fixture("calico-ipip-wcni-ip-d-link-tunl0.txt"));
    expect(tunl && formatLink(tunl)).toBe(
      "6: tunl0: <NOARP,UP,LOWER_UP> mtu 1480 state UNKNOWN ipip remote any local any",
    );
  });

  it("prints addresses in `ip -o addr` words", () => {
    const addrs = parseIpAddrText(fixture("flannel-usernetes-azure-ip-addr.txt"));
    expect(addrs.filter((a) => a.family === 4).map(formatAddress)).toEqual([
      "1: lo inet 127.0.0.1/8 scope host lo",
      "2: flannel.1 inet 10.244.0.0/32 scope global flannel.1",
      "3: cni0 inet 10.244.0.1/24 brd 10.244.0.255 scope global cni0",
      "9: eth0 inet 10.100.151.100/24 brd 10.100.151.255 scope global eth0",
    ]);
    const k0s = parseIpAddrText(fixture("k0s-v1.34-kuberouter-hqwy-ip-addr-show.txt"));
    expect(k0s.map(formatAddress)).toContain(
      "2: enp1s0 inet 192.168.122.161/24 brd 192.168.122.255 scope global dynamic noprefixroute enp1s0",
    );
    expect(parseIpAddrJson(fixture("lab-pod-ip-addr.json")).map(formatAddress)).toContain(
      "2: eth0 inet 10.244.0.2/24 scope global eth0",
    );
  });
});

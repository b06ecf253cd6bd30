import { describe, expect, it } from "vitest";
import type { Link } from "../../model/link.js";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIpLinkJson } from "./link-json.js";
import { parseIpLinkText } from "./link-text.js";

const fixture = fixtureReader(import.meta.url);

function byName(links: Link[], name: string): Link {
  const l = links.find((x) => x.name === name);
  if (!l) throw new Error(`no link ${name}`);
  return l;
}

describe("parseIpLinkText", () => {
  it("maps a flannel.1 VXLAN device to its VNI, local VTEP and underlay device", () => {
    const [flannel] = parseIpLinkText(fixture("flannel-k8s117-tangfeixiong-ip-d-link-flannel1.txt"));
    expect(flannel).toMatchObject({
      ifindex: 6,
      name: "flannel.1",
      kind: "vxlan",
      mtu: 1450,
      operstate: "UNKNOWN",
      mac: "0a:8e:04:d9:0c:27",
      vxlan: {
        vni: 1,
        local: "172.28.128.4",
        underlayDev: "enp0s8",
        dstport: 8472,
        learning: false,
        external: false,
        ttl: "inherit",
      },
    });
  });

  it("reads Calico's vxlan.calico on VNI 4096 / port 4789 with ttl auto", () => {
    const links = parseIpLinkText(fixture("calico-vxlan-k8s133-hqwy-ip-d-link-show.txt"));
    const vx = byName(links, "vxlan.calico");
    expect(vx.kind).toBe("vxlan");
    if (vx.kind !== "vxlan") return;
    expect(vx.vxlan).toMatchObject({ vni: 4096, local: "10.0.0.31", dstport: 4789, ttl: "auto" });
    expect(vx.vxlan.underlayDev).toBe("enp2s0");
    expect(vx.vxlan.underlayIfindex).toBe(3);
    const cali = byName(links, "cali90b386908a6");
    expect(cali).toMatchObject({
      ifindex: 7,
      kind: "veth",
      linkIfindex: 2,
      linkNetns: "7962e0a4-c36d-453f-9c90-1a3eacc3b0ac",
      mac: "ee:ee:ee:ee:ee:ee",
    });
  });

  it("reads a veth's peer ifindex and netnsid and its bridge port state from veth2c65dd67@if3", () => {
    const [veth] = parseIpLinkText(fixture("flannel-k8s117-tangfeixiong-ip-d-link-veth-bridge-slave.txt"));
    expect(veth).toMatchObject({
      ifindex: 10,
      name: "veth2c65dd67",
      kind: "veth",
      master: "cni0",
      linkIfindex: 3,
      linkNetnsid: 2,
      bridgePort: { state: "forwarding", hairpin: true, learning: true, flood: true, neighSuppress: false },
    });
  });

  it("keeps containerd's named peer netns (link-netns cni-…) on kube-router's kube-bridge ports", () => {
    const links = parseIpLinkText(fixture("k0s-v1.34-kuberouter-hqwy-ip-d-link-show-kube-bridge.txt"));
    expect(links.map((l) => l.ifindex)).toEqual([1, 2, 3, 6, 7, 8]);
    expect(byName(links, "vethafa19b66")).toMatchObject({
      linkIfindex: 2,
      linkNetns: "cni-7abaad58-8ee0-6e49-8a25-c72c6db0f2d1",
      master: "kube-bridge",
      bridgePort: { state: "forwarding", hairpin: true },
    });
    expect(byName(links, "kube-bridge")).toMatchObject({
      kind: "bridge",
      bridge: { stpState: 0, vlanFiltering: false, nfCallIptables: false },
    });
    expect(byName(links, "lo").kind).toBe("loopback");
    expect(byName(links, "enp1s0").kind).toBe("device");
  });

  it("reads the pod side of a Calico veth: eth0@if7 points back to host ifindex 7", () => {
    const links = parseIpLinkText(fixture("calico-vxlan-k8s133-hqwy-netns-ip-d-link-show.txt"));
    expect(byName(links, "eth0")).toMatchObject({
      ifindex: 2,
      kind: "veth",
      linkIfindex: 7,
      linkNetns: "0958d61b-d770-4af2-9fbf-57d9b74089a7",
      mtu: 1450,
    });
  });

  it("marks Cilium's cilium_vxlan and OVN's genev_sys_6081 as collect-metadata (external) tunnels", () => {
    const [cilium] = parseIpLinkText(fixture("cilium-1.15-kind-wcni-ip-d-link-cilium_vxlan.txt"));
    expect(cilium).toMatchObject({ ifindex: 4, kind: "vxlan", vxlan: { external: true } });
    if (cilium?.kind === "vxlan") expect(cilium.vxlan.vni).toBeUndefined();

    const ovn = parseIpLinkText(fixture("NON-K8S-openstack-ovn-hqwy-ip-d-link-show-genev_sys_6081.txt"));
    const gen = byName(ovn, "genev_sys_6081");
    expect(gen).toMatchObject({
      ifindex: 8,
      kind: "geneve",
      master: "ovs-system",
      mtu: 65000,
      geneve: { external: true, dstport: 6081, ttl: "auto" },
    });
    if (gen.kind === "geneve") expect(gen.geneve.vni).toBeUndefined();
    expect(byName(ovn, "br-int")).toMatchObject({ kind: "other", infoKind: "openvswitch" });
    // openvswitch_slave is a slave line, not a kind: eth2 stays a plain device enslaved to ovs-system.
    expect(byName(ovn, "eth2")).toMatchObject({ kind: "device", master: "ovs-system" });
  });

  it("reads Calico's tunl0@NONE as an ipip device without lower link or fixed endpoints", () => {
    const [tunl] = parseIpLinkText(fixture("calico-ipip-wcni-ip-d-link-tunl0.txt"));
    expect(tunl).toMatchObject({ ifindex: 6, name: "tunl0", kind: "ipip", mtu: 1480, ipip: {} });
    expect(tunl?.linkIfindex).toBeUndefined();
    expect(tunl?.flags).toEqual(["NOARP", "UP", "LOWER_UP"]);
  });

  it("reads kube-proxy's kube-ipvs0 as a DOWN dummy device", () => {
    const [ipvs] = parseIpLinkText(fixture("kind-tkng-ip-link-kube-ipvs0-dummy.txt"));
    expect(ipvs).toMatchObject({
      ifindex: 7,
      kind: "dummy",
      operstate: "DOWN",
      flags: ["BROADCAST", "NOARP"],
    });
  });

  it("without -d, resolves a same-netns lower device (antrea-ext.181@eth0) and leaves kinds as device", () => {
    const links = parseIpLinkText(fixture("antrea-kubeproxy-ipvs-andreasm-ip-link.txt"));
    expect(byName(links, "antrea-ext.181")).toMatchObject({ ifindex: 11, kind: "device", linkIfindex: 2 });
    expect(byName(links, "yelb-db--81d702")).toMatchObject({
      ifindex: 9,
      linkIfindex: 2,
      master: "ovs-system",
      linkNetns: "cni-28ac3a0f-cfd6-4823-286a-2334edb7a11c",
    });
    expect(byName(links, "genev_sys_6081").kind).toBe("device");
  });

  it("reads old iproute2 (CentOS 7) output with docker0's NO-CARRIER bridge and flannel.1", () => {
    const links = parseIpLinkText(fixture("flannel-centos7-worker-tangfeixiong-ip-d-link-show.txt"));
    expect(byName(links, "docker0")).toMatchObject({
      kind: "bridge",
      operstate: "DOWN",
      flags: ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"],
    });
    expect(byName(links, "flannel.1")).toMatchObject({
      vxlan: { vni: 1, local: "172.28.128.3", underlayDev: "eth1", underlayIfindex: 3, dstport: 8472 },
    });
  });

  it("reports the line of a truncated vxlan detail line", () => {
    const text = fixture("flannel-k8s117-tangfeixiong-ip-d-link-flannel1.txt")
      .split("\n")
      .slice(0, 2)
      .join("\n");
    const err = parseError(() => parseIpLinkText(`${text}\n    vxlan id 1 local`));
    expect(err.line).toBe(3);
    expect(err.source).toBe("ip -d link show");
    expect(err.detail).toContain('"local" without a value');
  });

  it("reports the line of a cut-off link header", () => {
    const lines = fixture("k0s-v1.34-kuberouter-hqwy-ip-d-link-show-kube-bridge.txt").split("\n").slice(0, 5);
    const err = parseError(() =>
      parseIpLinkText(`${lines.join("\n")}\n6: vethafa19b66@if2: <BROADCAST,MULT`),
    );
    expect(err.line).toBe(6);
  });
});

describe("parseIpLinkJson", () => {
  const lab = parseIpLinkJson(fixture("lab-node-ip-link.json"));

  it("maps the lab's flannel.1 VXLAN device to its VNI, local VTEP and underlay device", () => {
    expect(byName(lab, "flannel.1")).toMatchObject({
      ifindex: 6,
      kind: "vxlan",
      infoKind: "vxlan",
      mtu: 1450,
      vxlan: {
        vni: 1,
        local: "192.168.100.1",
        dstport: 8472,
        learning: false,
        external: false,
        underlayDev: "eth0",
        underlayIfindex: 2,
        ttl: "auto",
      },
    });
  });

  it("reads cni0's bridge options and its veth ports' peer ifindex, netnsid and port state", () => {
    expect(byName(lab, "cni0")).toMatchObject({
      kind: "bridge",
      bridge: { stpState: 0, vlanFiltering: false, nfCallIptables: false },
    });
    expect(byName(lab, "vethpod1")).toMatchObject({
      ifindex: 4,
      kind: "veth",
      master: "cni0",
      linkIfindex: 2,
      linkNetnsid: 1,
      mac: "5a:4c:09:02:c8:a3",
      bridgePort: { state: "forwarding", hairpin: true, learning: true, flood: true },
    });
    expect(byName(lab, "lo").kind).toBe("loopback");
  });

  it("reads a collect-metadata VXLAN (cilium_vxlan external) without a VNI", () => {
    const c = byName(lab, "cilium_vxlan");
    expect(c).toMatchObject({ kind: "vxlan", vxlan: { external: true, dstport: 4789 } });
    if (c.kind === "vxlan") expect(c.vxlan.vni).toBeUndefined();
  });

  it("agrees with the text form of the same netns (except netns id vs netns name)", () => {
    const text = parseIpLinkText(fixture("lab-node-ip-d-link.txt"));
    const strip = (ls: Link[]) => ls.map(({ linkNetnsid: _i, linkNetns: _n, ...rest }) => rest);
    expect(strip(text)).toEqual(strip(lab));
    expect(byName(text, "vethpod1").linkNetns).toBe("nmcap-pod1");
    const pod = parseIpLinkJson(fixture("lab-pod-ip-link.json"));
    expect(byName(pod, "eth0")).toMatchObject({
      ifindex: 2,
      kind: "veth",
      linkIfindex: 4,
      linkNetnsid: 0,
      mtu: 1450,
    });
  });

  it("reads `ip -j link show` without -d: veths as devices with their peer index and netnsid", () => {
    const links = parseIpLinkJson(fixture("flannel-iknite-ip-j-link-show-json.txt"));
    const veths = links.filter((l) => l.master === "cni0");
    expect(veths).toHaveLength(13);
    expect(byName(links, "vethceed7ade")).toMatchObject({
      ifindex: 3,
      linkIfindex: 2,
      linkNetnsid: 1,
      kind: "device",
    });
    expect(byName(links, "lo").kind).toBe("loopback");
    expect(byName(links, "flannel.1").infoKind).toBeUndefined();
  });

  it("reads pretty-printed `ip -json -pretty link show flannel.1`", () => {
    const [l] = parseIpLinkJson(fixture("flannel-usernetes-azure-ip-json-pretty-link-flannel1.txt"));
    expect(l).toMatchObject({
      ifindex: 2,
      name: "flannel.1",
      mtu: 1450,
      mac: "16:95:0d:6d:7e:e0",
      kind: "device",
    });
  });

  it("reports truncated JSON with the line it stops on", () => {
    const pretty = fixture("flannel-usernetes-azure-ip-json-pretty-link-flannel1.txt");
    const cut = pretty.split("\n").slice(0, 7).join("\n");
    const err = parseError(() => parseIpLinkJson(cut));
    expect(err.detail).toContain("truncated or invalid JSON");
    expect(err.line).toBe(7);
    const compact = fixture("lab-node-ip-link.json");
    expect(parseError(() => parseIpLinkJson(compact.slice(0, compact.length / 2))).line).toBe(1);
  });

  it("names the element index and line of an element missing ifname", () => {
    const pretty = fixture("flannel-usernetes-azure-ip-json-pretty-link-flannel1.txt");
    const doc = `[ { "ifindex": 1, "ifname": "lo", "mtu": 65536 },\n${pretty.trim().slice(1).replace('"ifname": "flannel.1",', "")}`;
    const err = parseError(() => parseIpLinkJson(doc));
    expect(err.detail).toMatch(/^element 1: missing required field "ifname"/);
    expect(err.line).toBe(2);
  });
});

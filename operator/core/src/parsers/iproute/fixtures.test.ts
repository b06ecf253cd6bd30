import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIpAddrText } from "./addr.js";
import { parseIpLinkText } from "./link-text.js";

const dir = new URL("./testdata/", import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir), "utf8");
const files = readdirSync(dir);

describe("captured `ip [-d] link` / `ip [-d] addr` outputs", () => {
  const linkFiles = files.filter(
    (f) => /ip-(d-)?(4-)?(link|addr)|ip-link|ip-addr|kube-ipvs0/.test(f) && f.endsWith(".txt"),
  );

  it("parses every one of them into links whose ifindexes match their header lines", () => {
    expect(linkFiles.length).toBeGreaterThan(25);
    for (const name of linkFiles) {
      const text = fixture(name);
      const headers = text.split("\n").filter((l) => /^\d+: /.test(l));
      const links = parseIpLinkText(text);
      expect(
        links.map((l) => l.ifindex),
        name,
      ).toEqual(headers.map((h) => Number.parseInt(h, 10)));
      expect(() => parseIpAddrText(text), name).not.toThrow();
    }
  });

  it("reads the VXLAN VTEPs of six clusters", () => {
    const vteps = [
      "flannel-k8s115-hwchiu-vagrant-ip-d-addr-show-flannel1.txt",
      "flannel-openstack-2019-k8snode1-ip-d-link-show-flannel1.txt",
      "k3s-flannel-ricsanfre-ip-d-addr-flannel1.txt",
      "flannel-k8s117-tangfeixiong-ip-d-link-flannel1.txt",
      "calico-vxlan-k8s133-hqwy-controller-ip-d-link-show-cali-veths.txt",
      "flannel-centos7-worker-tangfeixiong-ip-d-link-show.txt",
    ].map((name) => {
      const l = parseIpLinkText(fixture(name)).find((x) => x.kind === "vxlan");
      return l?.kind === "vxlan"
        ? `${l.name} ${l.vxlan.vni} ${l.vxlan.local} ${l.vxlan.underlayDev} ${l.vxlan.dstport}`
        : name;
    });
    expect(vteps).toEqual([
      "flannel.1 1 172.17.8.101 eth1 8472",
      "flannel.1 1 172.16.1.14 ens3 8472",
      "flannel.1 1 10.0.0.11 eth0 8472",
      "flannel.1 1 172.28.128.4 enp0s8 8472",
      "vxlan.calico 4096 10.0.0.11 enp2s0 4789",
      "flannel.1 1 172.28.128.3 eth1 8472",
    ]);
  });

  it("reads the cni0 bridges of k3s, an OpenStack node and a k8s 1.17 node with nf_call_iptables off where printed", () => {
    const k3s = parseIpLinkText(fixture("k3s-flannel-ricsanfre-ip-d-addr-cni0-bridge.txt"))[0];
    expect(k3s).toMatchObject({ ifindex: 5, kind: "bridge", bridge: { stpState: 0, nfCallIptables: false } });
    const os = parseIpLinkText(fixture("flannel-openstack-2019-k8snode1-ip-d-4-addr-show-cni0.txt"))[0];
    expect(os).toMatchObject({
      ifindex: 5,
      kind: "bridge",
      mtu: 1400,
      bridge: { stpState: 0, vlanFiltering: false },
    });
    if (os?.kind === "bridge") expect(os.bridge.nfCallIptables).toBeUndefined();
    const k117 = parseIpLinkText(fixture("flannel-k8s117-tangfeixiong-ip-d-link-cni0-bridge.txt"))[0];
    expect(k117).toMatchObject({ ifindex: 7, kind: "bridge", mac: "62:cb:e6:c6:82:fb" });
  });
});

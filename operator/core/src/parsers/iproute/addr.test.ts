import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIpAddrJson, parseIpAddrText } from "./addr.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIpAddrText", () => {
  it("lists flannel.1's /32 VTEP address and cni0's gateway address on a Usernetes node", () => {
    const addrs = parseIpAddrText(fixture("flannel-usernetes-azure-ip-addr.txt"));
    const v4 = addrs.filter((a) => a.family === 4);
    expect(v4.map((a) => `${a.ifindex} ${a.ifname} ${a.local}/${a.prefixlen}`)).toEqual([
      "1 lo 127.0.0.1/8",
      "2 flannel.1 10.244.0.0/32",
      "3 cni0 10.244.0.1/24",
      "9 eth0 10.100.151.100/24",
    ]);
    expect(v4.find((a) => a.ifname === "cni0")).toMatchObject({
      broadcast: "10.244.0.255",
      scope: "global",
      label: "cni0",
      flags: [],
    });
    // veths carry only link-local IPv6; their names lose the @ifN suffix.
    expect(addrs.find((a) => a.ifindex === 4)).toMatchObject({
      ifname: "veth482f2c81",
      family: 6,
      local: "fe80::145d:63ff:fea2:2104",
      prefixlen: 64,
      scope: "link",
    });
  });

  it("keeps address flags (dynamic, noprefixroute) and skips `proto kernel_ll`", () => {
    const addrs = parseIpAddrText(fixture("k0s-v1.34-kuberouter-hqwy-ip-addr-show.txt"));
    expect(addrs.find((a) => a.local === "192.168.122.161")).toMatchObject({
      ifname: "enp1s0",
      prefixlen: 24,
      broadcast: "192.168.122.255",
      flags: ["dynamic", "noprefixroute"],
      label: "enp1s0",
    });
    expect(addrs.find((a) => a.local === "::1")).toMatchObject({
      prefixlen: 128,
      scope: "host",
      flags: ["noprefixroute"],
    });
    expect(addrs.find((a) => a.ifindex === 6)).toMatchObject({
      local: "fe80::b451:12ff:fe18:a385",
      scope: "link",
      flags: [],
    });
  });

  it("reads kube-proxy's ClusterIPs bound as /32 on kube-ipvs0", () => {
    const addrs = parseIpAddrText(fixture("minikube-otus-ip-addr-show-kube-ipvs0.txt"));
    expect(addrs.map((a) => `${a.ifindex} ${a.local}/${a.prefixlen}`)).toEqual([
      "13 10.96.0.10/32",
      "13 10.97.181.101/32",
      "13 10.96.0.1/32",
    ]);
  });

  it("reads `ip -d addr` with detail lines and flat valid_lft indentation (k3s flannel.1)", () => {
    const addrs = parseIpAddrText(fixture("k3s-flannel-ricsanfre-ip-d-addr-flannel1.txt"));
    expect(addrs[0]).toMatchObject({ ifindex: 4, ifname: "flannel.1", local: "10.42.0.0", prefixlen: 32 });
    expect(parseIpAddrText(fixture("k3s-flannel-ricsanfre-ip-d-addr-cni0-bridge.txt"))[0]).toMatchObject({
      ifindex: 5,
      local: "10.42.0.1",
      broadcast: "10.42.0.255",
    });
  });

  it("agrees with `ip -j addr show` of the same lab netns", () => {
    expect(parseIpAddrText(fixture("lab-node-ip-addr.txt"))).toEqual(
      parseIpAddrJson(fixture("lab-node-ip-addr.json")),
    );
    expect(parseIpAddrText(fixture("lab-pod-ip-addr.txt"))).toEqual(
      parseIpAddrJson(fixture("lab-pod-ip-addr.json")),
    );
  });

  it("reports the line of a truncated address", () => {
    const lines = fixture("flannel-usernetes-azure-ip-addr.txt").split("\n").slice(0, 8);
    const err = parseError(() => parseIpAddrText(`${lines.join("\n")}\n    inet 10.244.0`));
    expect(err.line).toBe(9);
    expect(err.source).toBe("ip addr show");
  });
});

describe("parseIpAddrJson", () => {
  it("reads the lab node's addresses, including flannel.1's /32 VTEP address", () => {
    const addrs = parseIpAddrJson(fixture("lab-node-ip-addr.json"));
    expect(addrs.find((a) => a.ifname === "flannel.1" && a.family === 4)).toEqual({
      ifindex: 6,
      ifname: "flannel.1",
      family: 4,
      local: "10.244.0.0",
      prefixlen: 32,
      scope: "global",
      flags: [],
      label: "flannel.1",
    });
    expect(addrs.find((a) => a.local === "::1")).toMatchObject({
      ifindex: 1,
      family: 6,
      prefixlen: 128,
      scope: "host",
    });
    expect(
      parseIpAddrJson(fixture("lab-pod-ip-addr.json"))
        .filter((a) => a.family === 4)
        .map((a) => a.local),
    ).toEqual(["127.0.0.1", "10.244.0.2"]);
  });

  it("reports truncated JSON and an element without ifindex", () => {
    const json = fixture("lab-node-ip-addr.json");
    const err = parseError(() => parseIpAddrJson(json.slice(0, 500)));
    expect(err.detail).toContain("truncated or invalid JSON");
    expect(err.line).toBe(1);
    const missing = parseError(() => parseIpAddrJson(json.replace('"ifindex":3,', "")));
    expect(missing.detail).toMatch(/^element 2: missing required field "ifindex"/);
  });
});

import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIpRouteJson, parseIpRouteText } from "./route.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIpRouteText", () => {
  it("reads flannel's per-node onlink routes via the remote VTEP on flannel.1", () => {
    const routes = parseIpRouteText(fixture("flannel-usernetes-azure-ip-route.txt"));
    expect(routes).toHaveLength(34);
    expect(routes[0]).toEqual({
      family: 4,
      type: "unicast",
      table: "main",
      dst: "0.0.0.0/0",
      gateway: "10.100.151.1",
      dev: "eth0",
      flags: [],
    });
    expect(routes.find((r) => r.dst === "10.244.1.0/24")).toEqual({
      family: 4,
      type: "unicast",
      table: "main",
      dst: "10.244.1.0/24",
      gateway: "10.244.1.0",
      dev: "flannel.1",
      flags: ["onlink"],
    });
    expect(routes.find((r) => r.dst === "10.244.0.0/24")).toMatchObject({
      dev: "cni0",
      protocol: "kernel",
      scope: "link",
      prefsrc: "10.244.0.1",
    });
  });

  it("reads Calico's host routes, numeric protocol 80 and the blackhole for its own block", () => {
    const routes = parseIpRouteText(fixture("calico-vxlan-k8s133-hqwy-ip-route-show.txt"));
    expect(routes.find((r) => r.dst === "172.17.2.0/32")).toMatchObject({
      gateway: "10.0.0.11",
      dev: "enp2s0",
      protocol: "80",
      flags: ["onlink"],
    });
    expect(routes.find((r) => r.type === "blackhole")).toEqual({
      family: 4,
      type: "blackhole",
      table: "main",
      dst: "172.17.255.128/26",
      protocol: "80",
      flags: [],
    });
    expect(routes.find((r) => r.dst === "172.17.255.130/32")).toMatchObject({
      dev: "cali90b386908a6",
      scope: "link",
    });
    expect(routes[0]).toMatchObject({ protocol: "static", metric: 100 });
  });

  it("reads BIRD-programmed routes (proto bird) with trailing blanks", () => {
    const routes = parseIpRouteText(fixture("calico-bird-kind-tkng-ip-route.txt"));
    expect(routes.filter((r) => r.protocol === "bird").map((r) => r.dst)).toEqual([
      "10.244.175.0/24",
      "10.244.190.0/24",
      "10.244.236.0/24",
    ]);
    expect(routes.find((r) => r.dst === "10.244.190.0/32")).toMatchObject({
      dev: "calid7f7f4e15dd",
      scope: "link",
    });
  });

  it("reads old iproute2's double-spaced output and the linkdown flag", () => {
    const routes = parseIpRouteText(fixture("flannel-openstack-2019-k8snode2-ip-route-old-iproute2.txt"));
    expect(routes.find((r) => r.dev === "docker0")).toEqual({
      family: 4,
      type: "unicast",
      table: "main",
      dst: "172.17.0.0/16",
      dev: "docker0",
      protocol: "kernel",
      scope: "link",
      prefsrc: "172.17.0.1",
      flags: ["linkdown"],
    });
    expect(routes.find((r) => r.dst === "169.254.169.254/32")).toMatchObject({
      gateway: "172.16.1.2",
      dev: "ens3",
    });
  });

  it("reads `ip route show table all`: table keywords, multipath next hops, IPv6 with pref", () => {
    const routes = parseIpRouteText(fixture("lab-node-ip-route-table-all.txt"));
    expect(routes.find((r) => r.table === "100" && r.type === "unicast")).toMatchObject({
      dst: "0.0.0.0/0",
      gateway: "192.168.100.2",
    });
    expect(routes.find((r) => r.dst === "10.250.0.0/16")?.nexthops).toEqual([
      { gateway: "192.168.100.2", dev: "eth0", weight: 1, flags: [] },
      { gateway: "192.168.100.3", dev: "eth0", weight: 2, flags: [] },
    ]);
    expect(routes.find((r) => r.dst === "::1/128")).toMatchObject({
      family: 6,
      type: "local",
      table: "local",
      metric: 0,
      pref: "medium",
    });
    expect(routes.find((r) => r.dst === "10.252.0.5/32")).toMatchObject({ type: "prohibit", metric: 50 });
  });

  it("uses the table argument for lines without a table keyword", () => {
    const routes = parseIpRouteText(fixture("flannel-kind-tkng-ip-route.txt"), { table: "254" });
    expect(new Set(routes.map((r) => r.table))).toEqual(new Set(["254"]));
  });

  it("agrees with `ip -j route show table all` of the same lab netns", () => {
    expect(parseIpRouteText(fixture("lab-node-ip-route-table-all.txt"))).toEqual(
      parseIpRouteJson(fixture("lab-node-ip-route.json")),
    );
    expect(parseIpRouteText(fixture("lab-pod-ip-route-table-all.txt"))).toEqual(
      parseIpRouteJson(fixture("lab-pod-ip-route.json")),
    );
  });

  it("reports the line of a route cut after `via`", () => {
    const lines = fixture("flannel-flysnow-ip-route.txt").split("\n").slice(0, 2);
    const err = parseError(() => parseIpRouteText(`${lines.join("\n")}\n10.244.1.0/24 via`));
    expect(err.line).toBe(3);
    expect(err.source).toBe("ip route show table all");
    expect(parseError(() => parseIpRouteText("default via 10.0.0.1 dev eth0\n10.244.1.")).line).toBe(2);
  });
});

describe("parseIpRouteText on the shapes other clusters print", () => {
  const dump = parseIpRouteText(fixture("written-old-iproute2-ip-route-table-all-ipv6.txt"));

  it("attaches a `cache` continuation line to the cached route above it", () => {
    expect(dump).toHaveLength(17);
    expect(dump.some((r) => r.dst.startsWith("cache"))).toBe(false);
    expect(dump.find((r) => r.dst === "fd00:2::5/128")).toEqual({
      family: 6,
      type: "unicast",
      table: "main",
      dst: "fd00:2::5/128",
      gateway: "fd00:1::1",
      dev: "eth0",
      metric: 0,
      mtu: 1492,
      flags: [],
    });
    // Real: a path-MTU exception of this kernel, IPv4 (`    cache expires 595sec mtu 1300`) and IPv6 (inline).
    expect(parseIpRouteText(fixture("lab-pmtu-ip-route-show-cache.txt"))).toEqual([
      {
        family: 4,
        type: "unicast",
        table: "main",
        dst: "10.99.2.2/32",
        gateway: "10.99.1.1",
        dev: "va",
        mtu: 1300,
        flags: [],
      },
    ]);
    expect(parseIpRouteText(fixture("lab-pmtu-ip-6-route-show-cache.txt"))).toEqual([
      {
        family: 6,
        type: "unicast",
        table: "main",
        dst: "fd99:2::2/128",
        gateway: "fd99:1::1",
        dev: "va",
        metric: 1024,
        mtu: 1300,
        pref: "medium",
        flags: [],
      },
    ]);
  });

  it("takes an address-less route's family from the dump: the section it is printed in", () => {
    const addressLess = dump.filter((r) => r.dst.endsWith("/0") && r.gateway === undefined);
    expect(addressLess.map((r) => [r.family, r.type, r.dst, r.table, r.dev])).toEqual([
      [4, "unreachable", "0.0.0.0/0", "200", undefined],
      [6, "unicast", "::/0", "main", "ppp0"],
      [6, "unreachable", "::/0", "unspec", "lo"],
      [6, "unreachable", "::/0", "unspec", "lo"],
    ]);
    expect(dump.find((r) => r.table === "unspec")).toMatchObject({ metric: 4294967295, protocol: "kernel" });
    expect(dump.filter((r) => r.family === 4)).toHaveLength(8);
  });

  it("takes the family of `ip -6 route` from the caller, and refuses a route of the other family in it", () => {
    const v6 = fixture("written-old-iproute2-ip-6-route.txt");
    expect(parseIpRouteText(v6, { family: 6 })[0]).toEqual({
      family: 6,
      type: "unicast",
      table: "main",
      dst: "::/0",
      dev: "ppp0",
      protocol: "static",
      metric: 1024,
      flags: [],
    });
    const err = parseError(() => parseIpRouteText(`${v6}10.0.0.0/8 dev eth0\n`, { family: 6 }));
    expect(err.line).toBe(3);
    expect(err.detail).toBe("an IPv4 route in an IPv6 dump");
  });

  it("names the source it parsed in its errors", () => {
    expect(parseError(() => parseIpRouteText("cache  mtu 1492")).detail).toBe("cache line without a route");
    const err = parseError(() =>
      parseIpRouteText("default via 10.0.0.1\n10.0.0.", { source: "node-2/ip-route.txt" }),
    );
    expect(err.source).toBe("node-2/ip-route.txt");
    expect(err.message).toMatch(/^node-2\/ip-route\.txt: line 2: invalid destination "10\.0\.0\."/);
  });
});

describe("parseIpRouteJson", () => {
  const routes = parseIpRouteJson(fixture("lab-node-ip-route.json"));

  it("maps default/host destinations, missing table to main and type to unicast", () => {
    expect(routes[0]).toEqual({
      family: 4,
      type: "unicast",
      table: "100",
      dst: "0.0.0.0/0",
      gateway: "192.168.100.2",
      dev: "eth0",
      flags: [],
    });
    expect(routes.find((r) => r.dst === "10.244.1.0/24")).toMatchObject({
      table: "main",
      gateway: "10.244.1.0",
      dev: "flannel.1",
      flags: ["onlink"],
    });
    expect(routes.find((r) => r.dst === "10.244.0.1/32")).toMatchObject({
      type: "local",
      table: "local",
      scope: "host",
      prefsrc: "10.244.0.1",
    });
    expect(routes.find((r) => r.type === "blackhole")).toMatchObject({ dst: "10.244.9.0/24", table: "100" });
  });

  it("infers IPv6 from the addresses and pref", () => {
    const v6 = routes.filter((r) => r.family === 6);
    expect(v6).toHaveLength(19);
    expect(v6.find((r) => r.type === "multicast")).toMatchObject({
      dst: "ff00::/8",
      table: "local",
      pref: "medium",
    });
  });

  it("keeps an IPv4 cached route IPv4: its `expires` sits beside `cache` (real `ip -j route show cache`)", () => {
    expect(parseIpRouteJson(fixture("lab-pmtu-ip-j-route-show-cache.json"))).toEqual(
      parseIpRouteText(fixture("lab-pmtu-ip-route-show-cache.txt")),
    );
  });

  it("reports truncated JSON and an element without dst by index", () => {
    const json = fixture("lab-node-ip-route.json");
    const err = parseError(() => parseIpRouteJson(json.slice(0, -40)));
    expect(err.detail).toContain("truncated or invalid JSON");
    expect(err.line).toBe(1);
    const missing = parseError(() => parseIpRouteJson(json.replace('"dst":"10.244.0.0/24",', "")));
    expect(missing.detail).toMatch(/^element 2: missing required field "dst"/);
  });
});

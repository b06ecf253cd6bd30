import { describe, expect, it } from "vitest";
import { holdsPeerOf, podFacingVeths } from "./discover-pods.js";
import { globalAddresses, parseAddrs, parseLinks, parseNetnsIds } from "./iproute-json.js";

const hostLinks = JSON.stringify([
  { ifindex: 1, ifname: "lo", linkinfo: undefined },
  { ifindex: 2, ifname: "eth0", link_index: 7, link_netnsid: 0, linkinfo: { info_kind: "veth" } },
  { ifindex: 3, ifname: "cni0", linkinfo: { info_kind: "bridge" } },
  {
    ifindex: 4,
    ifname: "veth1",
    link_index: 2,
    link_netnsid: 1,
    master: "cni0",
    linkinfo: { info_kind: "veth" },
  },
  { ifindex: 5, ifname: "flannel.1", linkinfo: { info_kind: "vxlan" } },
]);
const hostAddrs = JSON.stringify([
  { ifname: "eth0", addr_info: [{ family: "inet", local: "172.31.9.1", prefixlen: 24, scope: "global" }] },
  { ifname: "cni0", addr_info: [{ family: "inet", local: "10.244.1.1", prefixlen: 24, scope: "global" }] },
]);

describe("pod netns discovery", () => {
  it("keeps pod-facing veths and leaves out the addressed uplink", () => {
    const veths = podFacingVeths(parseLinks(hostLinks), parseAddrs(hostAddrs));
    expect(veths).toEqual([{ ifindex: 4, ifname: "veth1", peerIfindex: 2, nsid: 1, master: "cni0" }]);
  });

  it("matches a candidate only when it holds the veth's other end", () => {
    const veths = podFacingVeths(parseLinks(hostLinks), parseAddrs(hostAddrs));
    const mine = parseLinks(
      JSON.stringify([
        { ifindex: 2, ifname: "eth0", link_index: 4, link_netnsid: 0, linkinfo: { info_kind: "veth" } },
      ]),
    );
    const other = parseLinks(
      JSON.stringify([
        { ifindex: 2, ifname: "eth0", link_index: 9, link_netnsid: 0, linkinfo: { info_kind: "veth" } },
      ]),
    );
    expect(holdsPeerOf(mine, veths)).toBe(true);
    expect(holdsPeerOf(other, veths)).toBe(false);
  });

  it("reads netns ids (empty output means none) and global addresses", () => {
    expect(parseNetnsIds("")).toEqual(new Map());
    expect(parseNetnsIds('[{"nsid":0,"name":"a"},{"nsid":1}]')).toEqual(
      new Map([
        [0, "a"],
        [1, undefined],
      ]),
    );
    const addrs = parseAddrs(
      JSON.stringify([
        { ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }] },
        {
          ifname: "eth0",
          addr_info: [
            { family: "inet6", local: "fd00::2", prefixlen: 64, scope: "global" },
            { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
            { family: "inet", local: "10.244.1.2", prefixlen: 24, scope: "global" },
          ],
        },
      ]),
    );
    expect(globalAddresses(addrs)).toEqual(["10.244.1.2", "fd00::2"]);
  });

  it("says which command printed something that is not JSON", () => {
    expect(() => parseLinks("oops")).toThrow(/ip -j link show: output is not JSON/);
  });
});

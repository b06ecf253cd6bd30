import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type HostWiring,
  holdsPeerOf,
  netnsRunDirs,
  podFacingVeths,
  podRole,
  scanNetns,
  uplinkReason,
} from "./discover-pods.js";
import { globalAddresses, parseAddrs, parseLinks, parseNetnsIds, parseRoutes } from "./iproute-json.js";

// Real captures of one node netns and its neighbours (testdata/capture-discovery.sh).
const read = (netns: string, what: "link" | "addr" | "route") =>
  readFileSync(new URL(`./testdata/discovery-${netns}-ip-${what}.json`, import.meta.url), "utf8");
const wiring = (netns: string): HostWiring => ({
  links: parseLinks(read(netns, "link")),
  addrs: parseAddrs(read(netns, "addr")),
  routes: parseRoutes(read(netns, "route")),
});
const node = wiring("node");
const ptpVeth = node.links.find((l) => l.kind === "veth" && l.ifname.startsWith("veth"))?.ifname ?? "";

describe("which host veths lead to pods", () => {
  it("keeps the ptp plugin's host veth although it holds the gateway /32, and the /24 sandbox and bare pair", () => {
    expect(node.addrs.find((a) => a.ifname === ptpVeth)).toMatchObject({
      local: "10.244.1.1",
      prefixlen: 32,
      scope: "global",
    });
    const { veths, uplinks } = podFacingVeths(node);
    expect(veths.map((v) => v.ifname).sort()).toEqual([ptpVeth, "vbare", "vsbx"].sort());
    expect(uplinks).toEqual([
      { name: "eth0", why: "the default route leaves through it (via 172.31.250.254)" },
    ]);
  });

  it("tells the uplink by the tunnel it carries when the node has no default route (a lab node)", () => {
    const noDefault = { ...node, routes: node.routes.filter((r) => r.dst !== "default") };
    expect(uplinkReason("eth0", noDefault)).toBe("it is the underlay of vxlan flannel.1");
    const untied = { ...noDefault, links: noDefault.links.map((l) => ({ ...l, tunnelDev: undefined })) };
    expect(uplinkReason("eth0", untied)).toBe("it holds 172.31.250.1, the local address of vxlan flannel.1");
    expect(uplinkReason(ptpVeth, node)).toBeUndefined();
  });
});

describe("which peer netns are pods", () => {
  const { veths } = podFacingVeths(node);
  const role = (netns: string) => {
    const w = wiring(netns);
    return podRole(w.links, w.routes, veths);
  };

  it("a ptp pod, a sandbox behind a /24 gateway and a bare veth pair are pods, each via its own veth", () => {
    expect(role("ptp")).toMatchObject({ pod: true, via: { ifname: ptpVeth } });
    expect(role("sandbox")).toMatchObject({ pod: true, via: { ifname: "vsbx" } });
    expect(role("bare")).toMatchObject({ pod: true, via: { ifname: "vbare" } });
  });

  it("the switch behind an uplink is not a pod, even when nothing on the host side gave the uplink away", () => {
    const bare = {
      ...node,
      routes: node.routes.filter((r) => r.dst !== "default"),
      links: node.links.filter((l) => l.kind === "veth"),
    };
    const all = podFacingVeths(bare).veths;
    expect(all.map((v) => v.ifname)).toContain("eth0");
    const ul = wiring("ul");
    expect(holdsPeerOf(ul.links, all)).toBe(true);
    expect(podRole(ul.links, ul.routes, all)).toEqual({
      pod: false,
      why: "its end of eth0, n1, is a port of ul0: the veth leads to a switch",
    });
  });

  it("a netns that routes nothing out of its end is not a pod; one holding no end is not this node's", () => {
    const bare = wiring("bare");
    const kernelRoutesGone = bare.routes.filter((r) => !r.devs.includes("eth0"));
    expect(podRole(bare.links, kernelRoutesGone, veths)).toEqual({
      pod: false,
      why: "nothing in it routes out of eth0, its end of vbare",
    });
    expect(podRole(wiring("node").links, [], veths)).toEqual({
      pod: false,
      why: "it holds the far end of none of this node's veths",
    });
  });
});

describe("discovery's readers", () => {
  it("read netns ids (empty output means none) and global addresses", () => {
    expect(parseNetnsIds("")).toEqual(new Map());
    expect(parseNetnsIds('[{"nsid":0,"name":"a"},{"nsid":1}]')).toEqual(
      new Map([
        [0, "a"],
        [1, undefined],
      ]),
    );
    expect(globalAddresses(wiring("ptp").addrs)).toEqual(["10.244.1.2"]);
    expect(globalAddresses(node.addrs)).toEqual(["172.31.250.1", "10.244.1.1", "10.200.1.1", "10.201.0.1"]);
  });

  it("read where each route leaves and a tunnel's lower device and local address", () => {
    expect(node.routes.find((r) => r.dst === "default")).toEqual({
      dst: "default",
      type: "unicast",
      table: "main",
      devs: ["eth0"],
      gateway: "172.31.250.254",
    });
    expect(node.links.find((l) => l.ifname === "flannel.1")).toMatchObject({
      kind: "vxlan",
      tunnelDev: "eth0",
      tunnelLocal: "172.31.250.1",
    });
  });

  it("say which command printed something that is not JSON", () => {
    expect(() => parseLinks("oops")).toThrow(/ip -j link show: output is not JSON/);
    expect(() => parseRoutes("oops")).toThrow(/ip -j route show table all: output is not JSON/);
  });
});

describe("where a node's named netns are found", () => {
  it("a probe in a pod reaches the node's /run/netns through the host netns process's root", () => {
    expect(netnsRunDirs("/proc/1/ns/net")).toEqual(["/var/run/netns", "/proc/1/root/run/netns"]);
    expect(netnsRunDirs("/proc/4242/ns/net")).toEqual(["/var/run/netns", "/proc/4242/root/run/netns"]);
    // A lab node's netns is a named one: its pods' netns are the machine's own named ones.
    expect(netnsRunDirs("/var/run/netns/nm-lab-n1")).toEqual(["/var/run/netns"]);
  });

  it("named netns come first, under their names, each once, and the excluded ones not at all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netmap-netns-"));
    try {
      for (const n of ["cni-b", "cni-a", "cni-host"]) writeFileSync(join(dir, n), "");
      const host = statSync(join(dir, "cni-host"));
      const found = await scanNetns(new Set([`${host.dev}:${host.ino}`]), [dir, dir]);
      const named = found.filter((c) => c.path.startsWith(dir));
      expect(named).toEqual([
        { name: "cni-a", path: join(dir, "cni-a") },
        { name: "cni-b", path: join(dir, "cni-b") },
      ]);
      expect(found.indexOf(named[0] as (typeof found)[number])).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from "vitest";
import type { NetnsState } from "../model/state.js";
import { inNetns, iproute } from "./commands.js";

const state = (netns: string, path?: string): NetnsState => ({
  node: "node-1",
  netns,
  ...(path !== undefined ? { path } : {}),
  links: [],
  addresses: [],
  routes: [],
  rules: [],
  neighbours: [],
  fdb: [],
  sysctls: {},
  netnsIds: [],
  netfilter: {},
});

describe("commands a person pastes on the node", () => {
  it("the node's own netns needs no prefix", () => {
    expect(iproute(state("host", "/proc/1/ns/net"), "ip", "route")).toBe("ip route");
    expect(inNetns(state("host", "/proc/1/ns/net"), "iptables -t nat -S")).toBe("iptables -t nat -S");
  });

  it("a netns mounted under /var/run/netns goes by its name", () => {
    const s = state("cni-1", "/var/run/netns/cni-1");
    expect(iproute(s, "ip", "route")).toBe("ip -n cni-1 route");
    expect(inNetns(s, "sysctl -a")).toBe("ip netns exec cni-1 sysctl -a");
  });

  it("containerd's netns as a probe pod reaches it (PID 1's /run/netns) goes by its name on the node", () => {
    const s = state("cni-6c2f0e1a", "/proc/1/root/run/netns/cni-6c2f0e1a");
    expect(iproute(s, "bridge", "fdb show")).toBe("bridge -n cni-6c2f0e1a fdb show");
    expect(inNetns(s, "iptables-save")).toBe("ip netns exec cni-6c2f0e1a iptables-save");
  });

  it("a netns held only by a process (or another process's mounts) is entered with nsenter", () => {
    expect(iproute(state("ns-4026532655", "/proc/1942/ns/net"), "ip", "link")).toBe(
      "nsenter --net=/proc/1942/ns/net ip link",
    );
    expect(inNetns(state("x", "/proc/7/root/run/netns/x"), "nft list ruleset")).toBe(
      "nsenter --net=/proc/7/root/run/netns/x nft list ruleset",
    );
  });
});

import { describe, expect, it } from "vitest";
import type { Packet } from "../../../model/trace.js";
import { parseIptablesRule } from "../../../parsers/iptables/rule.js";
import { newFlow } from "../../testdata/models.js";
import type { NetfilterContext } from "../types.js";
import { evaluateMatch, type MatchEnv, type MatchVerdict } from "./match.js";

const packet: Packet = { protocol: "tcp", src: "10.244.1.7", dst: "10.96.0.1", sport: 40000, dport: 443 };
const ctx: NetfilterContext = newFlow("forward", {
  inDev: "cni0",
  outDev: "flannel.1",
  physInDev: "veth1234",
  localAddresses: new Set(["192.168.1.1"]),
});

/** Whether every match of the rule holds (the first non-true verdict otherwise). */
function check(rule: string, env: Partial<MatchEnv> = {}): MatchVerdict {
  const r = parseIptablesRule(`-A X ${rule} -j ACCEPT`, {
    table: "filter",
    index: 1,
    line: 1,
    source: "test",
  });
  const e: MatchEnv = {
    packet,
    ctx,
    mark: 0,
    dnat: false,
    snat: false,
    ipsets: undefined,
    recent: new Set(),
    ...env,
  };
  for (const m of r.matches) {
    const v = evaluateMatch(m, e);
    if (v !== true) return v;
  }
  return true;
}

describe("evaluateMatch", () => {
  it("base match: CIDR with negation, protocol, interface wildcards", () => {
    expect(check("-s 10.244.0.0/16 ! -d 10.244.0.0/16 -p tcp")).toBe(true);
    expect(check("-s 10.244.2.0/24")).toBe(false);
    expect(check("-i cni+ -o flannel.1")).toBe(true);
    expect(check("-i eth+")).toBe(false);
    expect(check("-p udp")).toBe(false);
    expect(check("-p 6")).toBe(true);
  });

  it("tcp/udp ports, port ranges, multiport lists, SYN flags", () => {
    expect(check("-p tcp -m tcp --dport 443")).toBe(true);
    expect(check("-p tcp -m tcp --dport 30000:32767")).toBe(false);
    expect(check("-p udp -m udp --dport 443")).toBe(false);
    expect(check("-p tcp -m multiport --dports 80,443,8000:9000")).toBe(true);
    expect(check("-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN")).toBe(true);
    expect(check("-p tcp -m tcp --syn")).toBe(true);
  });

  it("conntrack: a new connection, DNAT status once translated", () => {
    expect(check("-m conntrack --ctstate NEW")).toBe(true);
    expect(check("-m conntrack --ctstate RELATED,ESTABLISHED")).toBe(false);
    expect(check("-m conntrack --ctstatus DNAT")).toBe(false);
    expect(check("-m conntrack --ctstatus DNAT", { dnat: true })).toBe(true);
    expect(check("-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT", { dnat: true })).toBe(false);
    expect(check("-m state --state NEW")).toBe(true);
  });

  it("addrtype LOCAL from the netns' addresses (and 127/8), mark with mask", () => {
    expect(check("-m addrtype --dst-type LOCAL", { packet: { ...packet, dst: "192.168.1.1" } })).toBe(true);
    expect(check("-m addrtype --dst-type LOCAL")).toBe(false);
    expect(check("-m addrtype ! --src-type LOCAL")).toBe(true);
    expect(check("-m addrtype --dst-type LOCAL", { packet: { ...packet, dst: "127.0.0.53" } })).toBe(true);
    expect(check("-m mark --mark 0x4000/0x4000", { mark: 0x4001 })).toBe(true);
    expect(check("-m mark ! --mark 0x4000/0x4000", { mark: 0x4001 })).toBe(false);
  });

  it("physdev from the bridge ports, iprange, comment/nfacct/limit always", () => {
    expect(check("-m physdev --physdev-in veth+ --physdev-is-in")).toBe(true);
    expect(check("-m physdev --physdev-is-bridged")).toBe(false);
    expect(check("-m iprange --src-range 10.244.1.1-10.244.1.9")).toBe(true);
    expect(check('-m comment --comment "x" -m nfacct --nfacct-name a -m limit --limit 5/s')).toBe(true);
  });

  it("statistic: nth matches the first packet only for --packet 0; random outside a Service is unknown", () => {
    expect(check("-m statistic --mode nth --every 3 --packet 0")).toBe(true);
    expect(check("-m statistic --mode nth --every 3 --packet 1")).toBe(false);
    expect(check("-m statistic --mode random --probability 0.1")).toEqual({
      unknown: "-m statistic --mode random --probability 0.1 outside a Service endpoint choice",
    });
  });

  it("recent: rcheck fails on a first packet, --set records, then rcheck matches", () => {
    const recent = new Set<string>();
    expect(
      check("-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource", {
        recent,
      }),
    ).toBe(false);
    expect(check("-m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource", { recent })).toBe(
      true,
    );
    expect(check("-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A", { recent })).toBe(true);
  });

  it("an unknown module or option is named, not guessed", () => {
    expect(check("-m owner --uid-owner 0")).toEqual({ unknown: "-m owner (match module not modelled)" });
    expect(check("-p tcp -m tcp --tcp-option 2")).toEqual({ unknown: "-m tcp --tcp-option 2" });
    expect(check("-d x.x.x.x")).toEqual({ unknown: "-d x.x.x.x (not an IPv4 address)" });
  });
});

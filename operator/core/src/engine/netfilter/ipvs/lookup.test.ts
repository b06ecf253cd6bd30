/**
 * The IPVS evaluator on real captured `ipvsadm -L -n` tables (parsers/ipvs/testdata, PROVENANCE.md).
 * This kernel has no IPVS, so no table is captured live; where a test needs something none of the
 * captures shows (unequal weights, weight 0, no real servers, a firewall-mark service), it changes
 * one field of a captured virtual server and says so.
 */
import { describe, expect, it } from "vitest";
import type { IpvsVirtualServer } from "../../../model/ipvs.js";
import type { NetnsState } from "../../../model/state.js";
import type { Packet } from "../../../model/trace.js";
import { parseIpvsadmList } from "../../../parsers/ipvs/index.js";
import { emptyNetns } from "../../testdata/models.js";
import { ipvsLookup, schedulerShares } from "./lookup.js";
import { capture } from "./testdata/nodes.js";

function node(ipvs: IpvsVirtualServer[]): NetnsState {
  return { ...emptyNetns("n", "host"), netfilter: { ipvs } };
}

const table = (name: string): IpvsVirtualServer[] => parseIpvsadmList(capture("ipvs", name));
const otus = () => table("minikube-otus-ipvsadm-list-n.txt");
const pkt = (dst: string, dport: number, protocol: Packet["protocol"] = "tcp"): Packet => ({
  protocol,
  src: "172.17.0.2",
  dst,
  sport: 40000,
  dport,
});

/** The captured virtual server for "TCP 10.97.181.101:80"-style names (throws if absent). */
function vsOf(servers: IpvsVirtualServer[], proto: string, addr: string, port: number): IpvsVirtualServer {
  const vs = servers.find((v) => v.protocol === proto && v.address === addr && v.port === port);
  if (!vs) throw new Error(`capture has no ${proto} ${addr}:${port}`);
  return vs;
}

describe("ipvsLookup on captured kube-proxy IPVS tables", () => {
  it("a ClusterIP's rr virtual server gives each of its three real servers 1/3 and DNATs to the first", () => {
    const step = ipvsLookup(node(otus()), pkt("10.97.181.101", 80));
    expect(step?.action).toBe("dnat");
    expect(step?.endpoints).toEqual([
      {
        address: "172.17.0.3:8000",
        probability: 1 / 3,
        via: "TCP 10.97.181.101:80 real server (Masq, weight 1)",
        chosen: true,
      },
      {
        address: "172.17.0.4:8000",
        probability: 1 / 3,
        via: "TCP 10.97.181.101:80 real server (Masq, weight 1)",
        chosen: false,
      },
      {
        address: "172.17.0.5:8000",
        probability: 1 / 3,
        via: "TCP 10.97.181.101:80 real server (Masq, weight 1)",
        chosen: false,
      },
    ]);
    expect(step?.packet).toEqual({ ...pkt("10.97.181.101", 80), dst: "172.17.0.3", dport: 8000 });
    expect(step?.evidence).toEqual({
      source: "ipvsadm -L -n",
      text: [
        "TCP  10.97.181.101:80 rr",
        "  -> 172.17.0.3:8000              Masq    1      0          0",
        "  -> 172.17.0.4:8000              Masq    1      0          0",
        "  -> 172.17.0.5:8000              Masq    1      0          0",
      ].join("\n"),
    });
    expect(step?.command).toBe("ipvsadm -L -n -t 10.97.181.101:80");
    expect(step).toMatchObject({ family: "ipvs", table: "ipvs", chain: "TCP 10.97.181.101:80", notes: [] });
  });

  it("follows the endpoint named by index or ip:port, and notes a name that is no real server", () => {
    const s = node(otus());
    const chosen = (e?: number | string) =>
      ipvsLookup(s, pkt("10.97.181.101", 80), e)?.endpoints.find((x) => x.chosen)?.address;
    expect(chosen(2)).toBe("172.17.0.5:8000");
    expect(chosen("172.17.0.4:8000")).toBe("172.17.0.4:8000");
    expect(chosen("172.17.0.4")).toBe("172.17.0.4:8000");
    const miss = ipvsLookup(s, pkt("10.97.181.101", 80), "10.0.0.9:80");
    expect(miss?.packet?.dst).toBe("172.17.0.3");
    expect(miss?.notes).toEqual([
      "endpoint 10.0.0.9:80 is not one of the real servers (172.17.0.3:8000, 172.17.0.4:8000, 172.17.0.5:8000); following 172.17.0.3:8000",
    ]);
  });

  it("tells TCP and UDP services on the same address and port apart (kube-dns), -u in the command", () => {
    const s = node(table("kind-tkng-ipvsadm-Ln-full.txt"));
    const udp = ipvsLookup(s, pkt("10.96.0.10", 53, "udp"));
    expect(udp?.command).toBe("ipvsadm -L -n -u 10.96.0.10:53");
    expect(udp?.evidence.text).toMatch(/^UDP {2}10\.96\.0\.10:53 rr\n.*Masq {4}1 {6}0 {10}8$/m);
    expect(udp?.endpoints.map((e) => [e.address, e.probability])).toEqual([
      ["10.244.0.3:53", 0.5],
      ["10.244.0.4:53", 0.5],
    ]);
    expect(ipvsLookup(s, pkt("10.96.0.10", 53))?.command).toBe("ipvsadm -L -n -t 10.96.0.10:53");
  });

  it("reports persistence (sessionAffinity: ClientIP) from the upstream README capture", () => {
    const step = ipvsLookup(node(table("k8s-ipvs-readme-ipvsadm-ln.txt")), pkt("10.0.0.1", 443));
    expect(step?.virtualServer.persistent).toBe(10800);
    expect(step?.notes).toEqual([
      "persistent 10800: after a client's first connection, every connection from the same client IP goes to the same real server until 10800 s pass without one (Service sessionAffinity: ClientIP)",
    ]);
    expect(step?.endpoints).toEqual([
      {
        address: "192.168.0.1:6443",
        probability: 1,
        via: "TCP 10.0.0.1:443 real server (Masq, weight 1)",
        chosen: true,
      },
    ]);
  });

  it("persistent N is the Service's ClientIP affinity: timeout N, the client, the virtual server as evidence", () => {
    const step = ipvsLookup(node(table("k8s-ipvs-readme-ipvsadm-ln.txt")), pkt("10.0.0.1", 443));
    expect(step?.affinity).toEqual({
      mode: "ClientIP",
      timeoutSeconds: 10800,
      client: "172.17.0.2",
      evidence: [step?.evidence],
    });
    expect(step?.affinity?.evidence[0]?.text).toMatch(/^TCP {2}10\.0\.0\.1:443 rr persistent 10800$/m);
    expect(ipvsLookup(node(otus()), pkt("10.97.181.101", 80))?.affinity).toBeUndefined();
  });

  it("finds NodePort virtual servers on the node IP and the pod gateway, and the LoadBalancer IP (Antrea, k8s 1.28)", () => {
    const s = node(table("antrea-k8s128-andreasm-ipvsadm-Ln.txt"));
    for (const [vip, port] of [
      ["10.160.1.27", 31925],
      ["10.30.69.1", 31925],
      ["10.169.1.40", 80],
      ["10.30.63.48", 80],
    ] as const) {
      const step = ipvsLookup(s, pkt(vip, port));
      expect(step?.packet).toMatchObject({ dst: "10.30.68.3", dport: 80 });
      expect(step?.endpoints.map((e) => e.probability)).toEqual([1]);
    }
  });

  it("has no virtual server for a port, protocol or address IPVS does not serve", () => {
    const s = node(otus());
    expect(ipvsLookup(s, pkt("10.97.181.101", 8080))).toBeUndefined();
    expect(ipvsLookup(s, pkt("10.97.181.101", 80, "udp"))).toBeUndefined();
    expect(ipvsLookup(s, { protocol: "icmp", src: "172.17.0.2", dst: "10.97.181.101" })).toBeUndefined();
    expect(ipvsLookup(s, pkt("10.97.181.102", 80))).toBeUndefined();
    expect(ipvsLookup(node([]), pkt("10.97.181.101", 80))).toBeUndefined();
  });
});

describe("scheduler probabilities (fields changed on captured virtual servers: no capture has them)", () => {
  /** The captured web Service (three real servers, rr, weight 1) with weights and scheduler replaced. */
  function web(scheduler: string, weights: number[]): IpvsVirtualServer {
    const vs = structuredClone(vsOf(otus(), "TCP", "10.97.181.101", 80));
    vs.scheduler = scheduler;
    vs.realServers = vs.realServers
      .slice(0, weights.length)
      .map((rs, i) => ({ ...rs, weight: weights[i] ?? 1 }));
    return vs;
  }

  it("wrr with weights 2 and 1 gives 2/3 and 1/3; rr ignores weights other than 0 (1/2 each)", () => {
    expect(schedulerShares(web("wrr", [2, 1])).probabilities).toEqual([2 / 3, 1 / 3]);
    expect(schedulerShares(web("rr", [2, 1])).probabilities).toEqual([0.5, 0.5]);
  });

  it("a weight-0 (quiesced) real server gets probability 0 and is not the default choice", () => {
    const step = ipvsLookup(node([web("rr", [0, 1, 1])]), pkt("10.97.181.101", 80));
    expect(step?.endpoints.map((e) => [e.address, e.probability, e.chosen])).toEqual([
      ["172.17.0.3:8000", 0, false],
      ["172.17.0.4:8000", 0.5, true],
      ["172.17.0.5:8000", 0.5, false],
    ]);
    expect(step?.notes).toEqual([
      "weight 0 (quiesced, e.g. a terminating endpoint): 172.17.0.3:8000 gets no new connections",
    ]);
  });

  it("no real server, or only weight-0 ones, is a reject with no DNAT", () => {
    const none = web("rr", []);
    const step = ipvsLookup(node([none]), pkt("10.97.181.101", 80));
    expect(step).toMatchObject({ action: "reject", endpoints: [] });
    expect(step?.packet).toBeUndefined();
    const quiesced = ipvsLookup(node([web("rr", [0, 0])]), pkt("10.97.181.101", 80));
    expect(quiesced?.action).toBe("reject");
    expect(quiesced?.endpoints.map((e) => e.probability)).toEqual([0, 0]);
  });

  it("lc, sh and wlc report their shares with a note on what decides the real choice", () => {
    expect(schedulerShares(web("lc", [3, 1]))).toMatchObject({
      probabilities: [0.5, 0.5],
      note: expect.stringMatching(/fewest connections/),
    });
    expect(schedulerShares(web("sh", [3, 1]))).toMatchObject({
      probabilities: [0.75, 0.25],
      note: expect.stringMatching(/one client always lands on the same real server/),
    });
    expect(schedulerShares(web("wlc", [3, 1]))).toMatchObject({
      probabilities: [0.75, 0.25],
      note: expect.stringMatching(/weight shares/),
    });
  });

  it("a firewall-mark service matches a packet carrying its mark before the address/port service", () => {
    const fwm: IpvsVirtualServer = { ...web("rr", [1]), protocol: "FWM", address: "1", port: 0, fwmark: 1 };
    const s = node([fwm, ...otus()]);
    const marked = ipvsLookup(s, pkt("10.97.181.101", 80), undefined, 1);
    expect(marked).toMatchObject({ chain: "FWM 1", command: "ipvsadm -L -n -f 1" });
    expect(marked?.endpoints.map((e) => e.address)).toEqual(["172.17.0.3:8000"]);
    expect(ipvsLookup(s, pkt("10.97.181.101", 80))?.chain).toBe("TCP 10.97.181.101:80");
  });
});

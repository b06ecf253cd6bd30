/**
 * Service fidelity on the live lab, shared by the iptables-mode and nftables-mode test files:
 * kube-proxy's rules (e2e/kube-proxy, loaded into every node), traced from live kernel state, then
 * checked with real TCP connections — which endpoint answered (each server replies with its pod
 * IP), iptables rule counters of the traced rules (iptables mode), the real DNAT conntrack recorded
 * (both modes; nftables rules of kube-proxy carry no counters).
 */
import type { Hop, Packet, TraceResult } from "@netmap/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, type Lab, type LabPod } from "./lab.js";
import {
  AFFINITY_SECONDS,
  conntrackDnat,
  flushConntrack,
  installServices,
  type LabService,
  type LabServices,
  NODE_PORT,
  type ProxyMode,
  ruleCounters,
  SERVICE_PORT,
  TARGET_PORT,
} from "./services.js";
import { nodesOf, requestEnd, traceLab } from "./trace.js";

/** Connections per real check: with 3 endpoints at 1/3, all three are reached but for ~3·(2/3)^30. */
const CONNECTIONS = 30;

const tcp = (src: string, dst: string, dport: number): Packet => ({
  protocol: "tcp",
  src,
  dst,
  sport: 40000,
  dport,
});

/** The hop that chooses the endpoint (KUBE-SVC jump / numgen vmap) and the DNAT hop after it. */
function serviceHops(r: TraceResult): { choice: Hop; dnat: Hop } {
  const choice = r.hops.find((h) => h.endpoints !== undefined);
  const dnat = r.hops.find((h) => h.action === "dnat");
  if (!choice || !dnat) throw new Error(`no endpoint choice / DNAT in the trace: ${r.reason}`);
  return { choice, dnat };
}

function counts(list: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

export function serviceFidelity(mode: ProxyMode, labName: string): void {
  let lab: Lab;
  let svc: LabServices;
  const figures: string[] = [];

  beforeAll(async () => {
    lab = await createLab({ name: labName, nodes: 3, podsPerNode: 2, overlay: "vxlan" });
    svc = await installServices(lab, mode);
  });
  afterAll(async () => {
    await lab?.destroy();
    if (figures.length > 0) console.log(`[services ${mode}] ${figures.join("; ")}`);
  });

  const client = (): LabPod => lab.pod("pod-1-2");
  const nodeNetns = (i: number): string => lab.nodes[i - 1]?.netns as string;
  const epIps = (s: LabService): string[] => s.endpoints.map((p) => p.ip);
  const chainOf = (h: Hop): string => (h.rule ?? "").replace(/ rule \d+$/, "");

  /** iptables: packet counters of every rule of the chain; nft: nothing (no counters). */
  const readCounters = async (netns: string, hops: readonly Hop[]): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    if (mode !== "iptables") return out;
    for (const chain of new Set(hops.filter((h) => h.primitive === "iptables-rule").map(chainOf))) {
      const [table, name] = chain.split("/") as [string, string];
      for (const row of await ruleCounters(lab, netns, table, name))
        out.set(`${chain} rule ${row.line}`, row.packets);
    }
    return out;
  };

  describe(`${mode} mode: ClusterIP with 3 endpoints on 3 nodes`, () => {
    it("the trace lists every endpoint at 1/3 and follows each in turn across nodes to its pod", async () => {
      const src = client();
      for (const [i, ep] of svc.web.endpoints.entries()) {
        const r = await traceLab(lab, tcp(src.ip, svc.web.clusterIP, SERVICE_PORT), i);
        expect(r.verdict, r.reason).toBe("Delivered");
        const { choice, dnat } = serviceHops(r);
        expect(choice.endpoints?.map((e) => e.address)).toEqual(
          epIps(svc.web).map((ip) => `${ip}:${TARGET_PORT}`),
        );
        for (const e of choice.endpoints ?? []) expect(e.probability).toBeCloseTo(1 / 3, 6);
        expect(choice.endpoints?.[i]?.chosen).toBe(true);
        expect(dnat.packet).toMatchObject({ dst: ep.ip, dport: TARGET_PORT });
        expect(requestEnd(r)).toMatchObject({ netns: ep.netns, action: "deliver" });
        expect(nodesOf(r, "request")).toEqual(ep.node === src.node ? [src.node] : [src.node, ep.node]);
        // The reply comes back the same way, and conntrack gives it the Service address again.
        expect(nodesOf(r, "reply")).toEqual(ep.node === src.node ? [src.node] : [ep.node, src.node]);
        expect(r.hops.find((h) => h.direction === "reply" && h.action === "un-dnat")?.packet).toMatchObject({
          src: svc.web.clusterIP,
          sport: SERVICE_PORT,
        });
        const chains = r.hops.filter((h) => h.node === src.node && h.layer === "netfilter").map(chainOf);
        if (mode === "iptables") {
          expect(chains).toEqual(
            expect.arrayContaining(["nat/PREROUTING", "nat/KUBE-SERVICES", chainOf(choice), chainOf(dnat)]),
          );
          expect(chainOf(choice)).toMatch(/^nat\/KUBE-SVC-/);
          expect(chainOf(dnat)).toMatch(/^nat\/KUBE-SEP-/);
        } else {
          expect(chains).toEqual(
            expect.arrayContaining(["ip kube-proxy/nat-prerouting", "ip kube-proxy/services"]),
          );
          expect(chainOf(choice)).toMatch(/^ip kube-proxy\/service-\w{8}-netmap-lab\/web\/tcp\/http$/);
          expect(chainOf(dnat)).toContain(`/web/tcp/http__${ep.ip}/${TARGET_PORT}`);
        }
      }
    });

    it("real connections land only on listed endpoints, and the traced rules' counters / conntrack agree", async () => {
      const src = client();
      const r = await traceLab(lab, tcp(src.ip, svc.web.clusterIP, SERVICE_PORT));
      const { choice } = serviceHops(r);
      const listed = new Set(
        (choice.endpoints ?? []).filter((e) => e.probability > 0).map((e) => e.address.split(":")[0]),
      );
      const traced = r.hops.filter((h) => h.node === src.node && h.action !== "accept");
      await flushConntrack(lab, nodeNetns(1));
      const before = await readCounters(nodeNetns(1), traced);
      const t = await lab.tcpProbe(src, svc.web.clusterIP, SERVICE_PORT, {
        connections: CONNECTIONS,
        serverPods: svc.web.endpoints,
        serverPort: TARGET_PORT,
      });
      const after = await readCounters(nodeNetns(1), traced);
      expect(t.connected).toBe(CONNECTIONS);
      for (const ip of Object.keys(t.answeredBy)) expect(listed.has(ip), `${ip} answered`).toBe(true);
      expect(Object.keys(t.answeredBy).sort()).toEqual(epIps(svc.web).sort());
      const real = counts(
        (await conntrackDnat(lab, nodeNetns(1), svc.web.clusterIP, SERVICE_PORT)).map(
          (a) => a.split(":")[0] as string,
        ),
      );
      expect(real).toEqual(t.answeredBy);
      let moved = 0;
      if (mode === "iptables") {
        const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
        // Every traced jump up to the endpoint choice saw every connection's first packet.
        for (const h of traced.filter((x) => x.index < choice.index && x.primitive === "iptables-rule")) {
          expect(delta(h.rule as string), h.rule).toBeGreaterThanOrEqual(CONNECTIONS);
          moved++;
        }
        // Each endpoint rule of KUBE-SVC moved by exactly the connections its endpoint answered.
        const svcChain = chainOf(choice);
        const perEndpoint = (choice.endpoints ?? []).map((e, k) => {
          const rows = [...after.keys()].filter((key) => key.startsWith(`${svcChain} rule`));
          const row = rows[rows.length - (choice.endpoints?.length ?? 0) + k] as string;
          return [e.address.split(":")[0] as string, delta(row)] as const;
        });
        expect(Object.fromEntries(perEndpoint)).toEqual(
          Object.fromEntries(epIps(svc.web).map((ip) => [ip, t.answeredBy[ip] ?? 0])),
        );
        moved += perEndpoint.length;
      }
      figures.push(
        `ClusterIP: ${t.connected}/${CONNECTIONS} connections, endpoints reached ${JSON.stringify(t.answeredBy)}, conntrack DNATs ${sum(real)}${mode === "iptables" ? `, ${moved} traced rule counters moved` : ""}`,
      );
    });
  });

  describe(`${mode} mode: NodePort`, () => {
    it("from a pod to another node's underlay IP: node-2 DNATs through the NodePort chains, and real connections get through", async () => {
      const src = client();
      const node2 = lab.nodes[1];
      if (!node2) throw new Error("lab has no node 2");
      const r = await traceLab(lab, tcp(src.ip, node2.underlayIp, NODE_PORT), 2);
      expect(r.verdict, r.reason).toBe("Delivered");
      const { choice, dnat } = serviceHops(r);
      expect(choice.node).toBe(node2.name);
      expect(choice.endpoints?.map((e) => e.probability.toFixed(6))).toEqual([
        "0.333333",
        "0.333333",
        "0.333333",
      ]);
      const third = svc.nodeport.endpoints[2] as LabPod;
      expect(dnat.packet).toMatchObject({ dst: third.ip, dport: TARGET_PORT });
      expect(requestEnd(r)).toMatchObject({ netns: third.netns, action: "deliver" });
      const onNode2 = r.hops.filter((h) => h.node === node2.name && h.layer === "netfilter").map(chainOf);
      if (mode === "iptables") {
        expect(onNode2).toEqual(
          expect.arrayContaining(["nat/KUBE-SERVICES", "nat/KUBE-NODEPORTS", "nat/KUBE-MARK-MASQ"]),
        );
        expect(onNode2.some((c) => c.startsWith("nat/KUBE-EXT-"))).toBe(true);
      } else {
        expect(onNode2.some((c) => c.includes("/external-"))).toBe(true);
      }
      // The node masquerades NodePort traffic (KUBE-MARK-MASQ → KUBE-POSTROUTING / masquerading).
      expect(r.hops.some((h) => h.node === node2.name && h.action === "masquerade")).toBe(true);
      expect(nodesOf(r, "request")).toEqual([src.node, node2.name, third.node]);
      // Masqueraded on node-2, the reply goes back through node-2, which undoes its DNAT and SNAT.
      expect(nodesOf(r, "reply")).toEqual([third.node, node2.name, src.node]);

      const traced = r.hops.filter((h) => h.node === node2.name && h.index < choice.index);
      await flushConntrack(lab, node2.netns);
      const before = await readCounters(node2.netns, traced);
      const t = await lab.tcpProbe(src, node2.underlayIp, NODE_PORT, {
        connections: CONNECTIONS,
        serverPods: svc.nodeport.endpoints,
        serverPort: TARGET_PORT,
      });
      const after = await readCounters(node2.netns, traced);
      expect(t.connected).toBe(CONNECTIONS);
      for (const ip of Object.keys(t.answeredBy)) expect(epIps(svc.nodeport)).toContain(ip);
      const real = counts(
        (await conntrackDnat(lab, node2.netns, node2.underlayIp, NODE_PORT)).map(
          (a) => a.split(":")[0] as string,
        ),
      );
      expect(real).toEqual(t.answeredBy);
      let moved = 0;
      for (const h of traced.filter((x) => x.primitive === "iptables-rule" && x.action === "jump")) {
        expect(
          (after.get(h.rule as string) ?? 0) - (before.get(h.rule as string) ?? 0),
          h.rule,
        ).toBeGreaterThanOrEqual(CONNECTIONS);
        moved++;
      }
      figures.push(
        `NodePort via ${node2.name}: ${t.connected}/${CONNECTIONS}, reached ${JSON.stringify(t.answeredBy)}${mode === "iptables" ? `, ${moved} traced rule counters moved` : ""}`,
      );
    });
  });

  describe(`${mode} mode: a Service without endpoints`, () => {
    it("is Rejected with SERVICE_NO_ENDPOINTS, and a real connection is refused", async () => {
      const src = client();
      const r = await traceLab(lab, tcp(src.ip, svc.empty.clusterIP, SERVICE_PORT));
      expect(r.verdict, r.reason).toBe("Rejected");
      expect(r.findings.map((f) => f.code)).toEqual(["SERVICE_NO_ENDPOINTS"]);
      const stop = r.hops[r.stoppedAt ?? -1];
      expect(stop?.action).toBe("reject");
      const counter = async () =>
        mode === "iptables" && stop
          ? ((await readCounters(nodeNetns(1), [stop])).get(stop.rule as string) ?? 0)
          : 0;
      const before = await counter();
      const t = await lab.tcpProbe(src, svc.empty.clusterIP, SERVICE_PORT, {
        connections: 3,
        serverPods: [],
      });
      expect(t.connected).toBe(0);
      expect(t.errors).toContain("ECONNREFUSED");
      const moved = (await counter()) - before;
      if (mode === "iptables") {
        expect(stop?.evidence[0]?.text).toContain("has no endpoints");
        expect(moved).toBeGreaterThanOrEqual(1);
      } else {
        expect(r.findings[0]?.evidence[0]?.text).toContain("@no-endpoint-services");
      }
      figures.push(
        `no endpoints: ${t.failed}/3 refused (${t.errors.join(",")})${mode === "iptables" ? `, REJECT counter +${moved}` : ""}`,
      );
    });
  });

  describe(`${mode} mode: ClientIP session affinity`, () => {
    it("repeated real connections land on one endpoint, held there by kube-proxy's recent list (-m recent --set in the traced DNAT rule) or affinity set", async () => {
      const src = client();
      const r = await traceLab(lab, tcp(src.ip, svc.sticky.clusterIP, SERVICE_PORT));
      expect(r.verdict, r.reason).toBe("Delivered");
      const { choice, dnat } = serviceHops(r);
      expect(choice.endpoints).toHaveLength(3);
      // The trace says the Service is sticky, for how long, and for which client.
      expect(choice.affinity).toMatchObject({
        mode: "ClientIP",
        timeoutSeconds: AFFINITY_SECONDS,
        client: src.ip,
      });
      const sepOrEndpoint = chainOf(dnat).split("/").slice(1).join("/");
      const before = await readCounters(nodeNetns(1), [choice]);
      await flushConntrack(lab, nodeNetns(1));
      const t = await lab.tcpProbe(src, svc.sticky.clusterIP, SERVICE_PORT, {
        connections: 10,
        serverPods: svc.sticky.endpoints,
        serverPort: TARGET_PORT,
      });
      const after = await readCounters(nodeNetns(1), [choice]);
      expect(t.connected).toBe(10);
      const reached = Object.keys(t.answeredBy);
      expect(reached).toHaveLength(1);
      const real = counts(
        (await conntrackDnat(lab, nodeNetns(1), svc.sticky.clusterIP, SERVICE_PORT)).map(
          (a) => a.split(":")[0] as string,
        ),
      );
      expect(real).toEqual(t.answeredBy);
      if (mode === "iptables") {
        // The DNAT rule records the client (-m recent --set); KUBE-SVC's --rcheck rules send it back.
        expect(dnat.evidence[0]?.text).toContain("-m recent --set");
        expect(dnat.evidence[0]?.text).toContain(`--name ${sepOrEndpoint}`);
        const rows = await ruleCounters(lab, nodeNetns(1), "nat", chainOf(choice).split("/")[1] as string);
        const rcheck = rows.filter((x) => /recent: CHECK seconds: 10800 reap/.test(x.text));
        expect(rcheck).toHaveLength(3);
        // The affinity evidence is those three --rcheck rules, then the followed KUBE-SEP's --set.
        const evidence = choice.affinity?.evidence.map((e) => e.text) ?? [];
        expect(
          evidence.slice(0, 3).every((t) => t.includes("-m recent --rcheck --seconds 10800 --reap")),
        ).toBe(true);
        expect(evidence[3]).toBe(dnat.evidence[0]?.text);
        const delta = (line: number) =>
          (after.get(`${chainOf(choice)} rule ${line}`) ?? 0) -
          (before.get(`${chainOf(choice)} rule ${line}`) ?? 0);
        // First connection: the random cascade; the nine after it: one --rcheck rule.
        expect(rcheck.map((x) => delta(x.line)).sort()).toEqual([0, 0, 9]);
        figures.push(`affinity: 10/10 on ${reached[0]}, --rcheck counter +9, cascade +1`);
      } else {
        // The reached endpoint's chain (endpoint-<hash>-…) names its affinity set (affinity-<hash>-…).
        const via = choice.endpoints?.find((e) => e.address === `${reached[0]}:${TARGET_PORT}`)?.via ?? "";
        const set = via.replace(/^endpoint-/, "affinity-");
        const listing = await lab.exec(nodeNetns(1), ["nft", "list", "set", "ip", "kube-proxy", set]);
        expect(listing.stdout).toContain(src.ip);
        expect(listing.stdout).toContain("timeout 3h");
        // The affinity evidence names every endpoint's affinity set, the one that holds the client included.
        expect(choice.affinity?.evidence.some((e) => e.text.includes(`@${set} goto`))).toBe(true);
        figures.push(`affinity: 10/10 on ${reached[0]}, ${set} holds ${src.ip}`);
      }
    });
  });

  describe(`${mode} mode: hairpin`, () => {
    it("a pod reaching itself through its Service is masqueraded to cni0's address, in the trace and for real", async () => {
      const self = lab.pod("pod-1-1");
      const r = await traceLab(lab, tcp(self.ip, svc.self.clusterIP, SERVICE_PORT));
      expect(r.verdict, r.reason).toBe("Delivered");
      const masq = r.hops.find((h) => h.action === "masquerade");
      expect(masq?.packet).toMatchObject({ src: "10.244.1.1", dst: self.ip, dport: TARGET_PORT });
      expect(requestEnd(r)).toMatchObject({ netns: self.netns, action: "deliver" });
      // The reply goes to cni0's address, is un-SNATed and routed back out of cni0 to the pod itself.
      expect(r.hops.at(-1)).toMatchObject({ direction: "reply", netns: self.netns, action: "deliver" });
      await flushConntrack(lab, nodeNetns(1));
      const t = await lab.tcpProbe(self, svc.self.clusterIP, SERVICE_PORT, {
        connections: 3,
        serverPods: [self],
        serverPort: TARGET_PORT,
      });
      expect(t.connected).toBe(3);
      const ct = await lab.exec(nodeNetns(1), [
        "conntrack",
        "-L",
        "-p",
        "tcp",
        "--orig-dst",
        svc.self.clusterIP,
      ]);
      // Reply tuple: from the pod back to the masqueraded source, cni0's 10.244.1.1.
      expect(ct.stdout).toMatch(
        new RegExp(`src=${self.ip.replaceAll(".", "\\.")} dst=10\\.244\\.1\\.1 sport=${TARGET_PORT}`),
      );
      figures.push(`hairpin: ${t.connected}/3, masquerade to 10.244.1.1 traced and in conntrack`);
    });
  });
}

/**
 * netmap on a real kind cluster (registered by cluster.kind.test.ts inside each network's suite,
 * so one cluster serves the smoke checks and these): `helm install` of the chart, test workloads,
 * the real `kubectl netmap` for same node, cross node, pod → Service, pod → Service without
 * endpoints and hostNetwork pod → pod, then `helm uninstall`. Every verdict is checked against a
 * real connection between the same pods, and the hops against the nodes' own state read with
 * `docker exec`: the pods' netns as `ip netns list` names them, their host-side veths as `ip link`
 * shows them, flannel's cni0 and flannel.1 (VNI, neighbour, FDB entry naming the other node's
 * address as VTEP, the other node's flannel.1 MAC), kindnet's /32 routes and the route to the other
 * node's pod CIDR, kube-proxy's KUBE-SVC/KUBE-SEP chains (iptables-save) or its service and
 * endpoint chains and maps (nft list table ip kube-proxy).
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hop, TraceResult } from "@netmap/core";
import { PROBE_ENTRY } from "@netmap/operator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KindCluster } from "./harness.js";
import {
  type ChartSource,
  chartSource,
  connect,
  deployNetmapWorkloads,
  ECHO_PORT,
  helmInstall,
  helmUninstall,
  type IpLink,
  iptablesSave,
  kubectlNetmap,
  kubeProxyNft,
  type NetmapWorkloads,
  nodeFdb,
  nodeLinks,
  nodeNeighbours,
  nodeRoutes,
  podNetnsOnNode,
  RELEASE_NAMESPACE,
  type ReleaseObjects,
  releaseDiagnostics,
  releaseObjects,
  SERVICE_PORT,
  TRACE_NAMESPACE,
  traceJson,
  withoutCounters,
} from "./netmap.js";
import { type NodeFacts, nodeFacts, podHostVeth, type TestPod } from "./workloads.js";

/** How a trace's text output is kept for people (the README's figures come from these). */
let outputDir: string | undefined;
async function keepText(cluster: KindCluster, name: string, text: string): Promise<string> {
  outputDir ??= process.env.NETMAP_KIND_OUTPUT ?? (await mkdtemp(join(tmpdir(), "netmap-kind-traces-")));
  await mkdir(outputDir, { recursive: true });
  const path = join(outputDir, `${cluster.name}-${name}.txt`);
  await writeFile(path, text);
  return path;
}

const podRef = (p: TestPod) => `${TRACE_NAMESPACE}/${p.name}`;
const on = (hops: readonly Hop[], node: string) => hops.filter((h) => h.node === node);
const hostHops = (hops: readonly Hop[], node: string) => on(hops, node).filter((h) => h.netns === "host");

function expectDeliveredBothWays(result: TraceResult, what: string): void {
  expect(
    { verdict: result.verdict, directions: result.directions.map((d) => `${d.direction} ${d.verdict}`) },
    `${what}: ${result.reason}`,
  ).toEqual({ verdict: "Delivered", directions: ["request Delivered", "reply Delivered"] });
}

export function netmapSuite(c: () => KindCluster): void {
  describe("netmap: helm install, kubectl netmap against the nodes' state, helm uninstall", () => {
    let chart: ChartSource | undefined;
    let w: NetmapWorkloads;
    let facts: Map<string, NodeFacts>;
    let release: ReleaseObjects;
    /** A pod's host-side veth, as the node's `ip -j -d link` shows it. */
    const veths = new Map<string, IpLink>();

    beforeAll(async () => {
      const cluster = c();
      const image = cluster.tools.NETMAP_IMAGE as string;
      chart = await chartSource();
      await helmInstall(cluster, chart, image);
      release = await releaseObjects(cluster, chart);
      w = await deployNetmapWorkloads(cluster, image);
      facts = await nodeFacts(cluster);
      for (const p of [w.workerA, w.workerB, w.cpA]) {
        const ifindex = await podHostVeth(cluster, p, TRACE_NAMESPACE);
        const link = (await nodeLinks(cluster, p.node)).find((l) => l.ifindex === ifindex);
        if (!link) throw new Error(`no link with ifindex ${ifindex} (${p.name}'s veth peer) on ${p.node}`);
        veths.set(p.name, link);
      }
    });

    afterAll(async () => {
      await chart?.cleanup();
    });

    const fact = (node: string): NodeFacts => {
      const f = facts.get(node);
      if (!f) throw new Error(`no node facts for ${node}`);
      return f;
    };
    const other = (node: string): NodeFacts => {
      const f = [...facts.values()].find((x) => x.name !== node);
      if (!f) throw new Error(`no node other than ${node}`);
      return f;
    };
    const veth = (p: TestPod): IpLink => {
      const v = veths.get(p.name);
      if (!v) throw new Error(`no host veth recorded for ${p.name}`);
      return v;
    };

    /** The pod's hops are in the netns `ip netns list` on its node names for it, and on its node. */
    async function expectPodNetns(result: TraceResult, p: TestPod): Promise<void> {
      const mine = result.hops.filter((h) => h.pod === podRef(p));
      expect(mine.length, `hops in ${podRef(p)}'s netns`).toBeGreaterThan(0);
      const netns = await podNetnsOnNode(c(), p.node, p.ip);
      expect(new Set(mine.map((h) => `${h.node} ${h.netns}`))).toEqual(new Set([`${p.node} ${netns}`]));
    }

    /**
     * The pod's host-side veth carries the packet on its node, named as `ip link` shows it; how it
     * is wired is the network's: a cni0 port (flannel), or a /32 route per pod with no bridge
     * (kindnet) — both read from the node and checked in the hops.
     */
    async function expectHostVeth(result: TraceResult, p: TestPod, receives: boolean): Promise<void> {
      const v = veth(p);
      expect(v.linkinfo?.info_kind, `${p.name}'s veth peer on ${p.node}`).toBe("veth");
      const through = hostHops(result.hops, p.node).filter((h) => h.device === v.ifname);
      expect(through.length, `hops on ${p.node} through ${v.ifname} (${p.name}'s veth)`).toBeGreaterThan(0);
      if (c().network === "flannel") {
        expect(v.master, `${v.ifname} on ${p.node}`).toBe("cni0");
        const port = through.find((h) => h.primitive === "bridge-port");
        expect(port?.summary, `a cni0 port hop for ${v.ifname}`).toContain("cni0");
        expect(port?.evidence.map((e) => e.text).join("\n")).toMatch(
          new RegExp(`^\\d+: ${v.ifname}@if\\d+: .* master cni0 `, "m"),
        );
      } else {
        expect(v.master, `${v.ifname} on ${p.node} is on no bridge`).toBeUndefined();
        expect(through.some((h) => h.primitive === "bridge-port")).toBe(false);
        if (receives) {
          // The packet to the pod leaves the host by the pod's /32 route, as the node has it.
          const routes = await nodeRoutes(c(), p.node);
          const r32 = routes.find((r) => r.dst === p.ip);
          expect(r32, `the /32 route to ${p.ip} on ${p.node}`).toMatchObject({
            dev: v.ifname,
            scope: "host",
          });
          const hop = hostHops(result.hops, p.node).find(
            (h) =>
              h.primitive === "route" &&
              h.summary.includes(`matches ${p.ip}/32: directly connected on ${v.ifname}`),
          );
          expect(hop, `a route hop on ${p.node} by ${p.ip}/32 dev ${v.ifname}`).toBeDefined();
        }
      }
    }

    /** Crossing from `from` to the other node, checked against both nodes' kernel state. */
    async function expectCrossing(
      result: TraceResult,
      from: string,
      direction: "request" | "reply",
    ): Promise<void> {
      const to = other(from);
      const hops = hostHops(result.hops, from).filter((h) => h.direction === direction);
      const route = hops.find((h) => h.primitive === "route" && h.summary.includes(`matches ${to.podCidr}:`));
      const routes = await nodeRoutes(c(), from);
      const real = routes.find((r) => r.dst === to.podCidr);
      if (c().network === "flannel") {
        // The route to the other node's pod CIDR via flannel.1, onlink, as the node has it.
        expect(real, `route to ${to.podCidr} on ${from}`).toMatchObject({ dev: "flannel.1" });
        expect(real?.flags).toContain("onlink");
        expect(route?.summary).toContain(`via ${real?.gateway} dev flannel.1 onlink`);
        // Its next hop's neighbour entry, the FDB entry for that MAC naming the other node as VTEP,
        // and that MAC being the other node's own flannel.1.
        const neigh = hops.find((h) => h.primitive === "neighbour" && h.device === "flannel.1");
        const mac = /is MAC ([0-9a-f:]{17})/.exec(neigh?.summary ?? "")?.[1];
        expect(mac, `the neighbour hop on ${from}: ${neigh?.summary}`).toBeDefined();
        const realNeigh = (await nodeNeighbours(c(), from, "flannel.1")).find((n) => n.dst === real?.gateway);
        expect(realNeigh?.lladdr).toBe(mac);
        const fdb = hops.find((h) => h.primitive === "fdb" && h.device === "flannel.1");
        expect(fdb?.summary).toBe(`FDB of flannel.1: ${mac} → remote VTEP ${to.address}`);
        const realFdb = await nodeFdb(c(), from, "flannel.1");
        expect(realFdb.find((e) => e.mac === mac)?.dst, `bridge fdb show dev flannel.1 on ${from}`).toBe(
          to.address,
        );
        const remote = (await nodeLinks(c(), to.name)).find((l) => l.ifname === "flannel.1");
        expect(remote?.address, `flannel.1's MAC on ${to.name}`).toBe(mac);
        // Encapsulation by flannel.1 with the node's VNI, from this node's address to the other's.
        const vxlan = (await nodeLinks(c(), from)).find((l) => l.ifname === "flannel.1");
        expect(vxlan?.linkinfo?.info_kind).toBe("vxlan");
        const encap = hops.find((h) => h.primitive === "vxlan" && h.action === "encap");
        expect(encap?.device).toBe("flannel.1");
        expect(encap?.outer).toEqual({
          src: fact(from).address,
          dst: to.address,
          protocol: "udp",
          dport: vxlan?.linkinfo?.info_data?.port,
          vni: vxlan?.linkinfo?.info_data?.id,
        });
        const decap = hostHops(result.hops, to.name).find(
          (h) => h.direction === direction && h.primitive === "vxlan" && h.action === "decap",
        );
        expect(decap?.device, `decapsulation on ${to.name}`).toBe("flannel.1");
      } else {
        // kindnet routes the other node's pod CIDR via that node's address, no tunnel.
        expect(real, `route to ${to.podCidr} on ${from}`).toMatchObject({ gateway: to.address });
        expect(route?.summary).toContain(`matches ${to.podCidr}: via ${to.address} dev ${real?.dev}`);
        expect(result.hops.some((h) => h.primitive === "vxlan")).toBe(false);
        const out = hops.find((h) => h.action === "transmit" && h.device === real?.dev);
        expect(out?.summary, `the packet leaves ${from} on ${real?.dev}`).toContain(`next hop ${to.address}`);
      }
    }

    it("each node's probe runs as the chart's defaults confine it: three capabilities, seccomp, no_new_privs, read-only root", async () => {
      const cluster = c();
      // The probe's process as the node's kernel sees it (/proc of the node container; hostPID), not
      // this shell, whose own command line names the probe's entry point too.
      const script = `for p in /proc/[0-9]*; do [ "$p" = "/proc/$$" ] && continue; if grep -qa ${PROBE_ENTRY} $p/cmdline 2>/dev/null; then echo "== $p"; cat $p/status; grep ' / / ' $p/mountinfo; fi; done`;
      // CAP_NET_ADMIN (12) | CAP_SYS_PTRACE (19) | CAP_SYS_ADMIN (21).
      const caps = ((1n << 12n) | (1n << 19n) | (1n << 21n)).toString(16).padStart(16, "0");
      for (const node of cluster.nodes) {
        const out = await cluster.execOk(node, ["sh", "-c", script]);
        const procs = out.split("== ").filter(Boolean);
        expect(procs.length, `probe processes on ${node}:\n${out}`).toBe(1);
        const field = (name: string) =>
          new RegExp(`^${name}:\\s+(.*)$`, "m").exec(procs[0] ?? "")?.[1]?.trim();
        expect(
          {
            uid: field("Uid")?.split(/\s+/)[0],
            capEff: field("CapEff"),
            capBnd: field("CapBnd"),
            noNewPrivs: field("NoNewPrivs"),
            seccomp: field("Seccomp"),
          },
          `the probe on ${node}`,
        ).toEqual({ uid: "0", capEff: caps, capBnd: caps, noNewPrivs: "1", seccomp: "2" });
        const root = (procs[0] ?? "").split("\n").find((l) => / \/ \/ /.test(l)) ?? "";
        expect(root.split(" ")[5]?.split(","), `the probe's root mount on ${node}: ${root}`).toContain("ro");
        process.stderr.write(`[kind] ${cluster.name}: probe on ${node}: VmRSS ${field("VmRSS")}\n`);
      }
    });

    it("same node, pod → pod: Delivered both ways, through both pods' veths on that node", async () => {
      const cluster = c();
      const { workerA: a, workerB: b } = w;
      expect(a.node).toBe(b.node);
      expect(await connect(cluster, b, a.ip, ECHO_PORT)).toEqual({ answer: a.name });
      const { run, result } = await traceJson(cluster, [
        "-n",
        TRACE_NAMESPACE,
        b.name,
        a.name,
        "--port",
        `${ECHO_PORT}`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expectDeliveredBothWays(result, "same node");
      expect(new Set(result.hops.map((h) => h.node))).toEqual(new Set([a.node]));
      await expectPodNetns(result, a);
      await expectPodNetns(result, b);
      await expectHostVeth(result, b, true);
      await expectHostVeth(result, a, true);
    });

    it("cross node, pod → pod: Delivered both ways, over the network's way between the nodes", async () => {
      const cluster = c();
      const { cpA: from, workerA: to } = w;
      expect(from.node).not.toBe(to.node);
      expect(await connect(cluster, from, to.ip, ECHO_PORT)).toEqual({ answer: to.name });
      const args = ["-n", TRACE_NAMESPACE, from.name, to.name, "--port", `${ECHO_PORT}`];
      const { run, result } = await traceJson(cluster, args);
      expect(run.code, run.stderr).toBe(0);
      expectDeliveredBothWays(result, "cross node");
      expect(result.segments.map((s) => `${s.direction} ${s.node}`)).toEqual([
        `request ${from.node}`,
        `request ${to.node}`,
        `reply ${to.node}`,
        `reply ${from.node}`,
      ]);
      await expectPodNetns(result, from);
      await expectPodNetns(result, to);
      await expectHostVeth(result, from, true);
      await expectHostVeth(result, to, true);
      await expectCrossing(result, from.node, "request");
      await expectCrossing(result, to.node, "reply");
      // The text form, as a person reads it, for the README.
      const text = await kubectlNetmap(cluster, [...args, "-o", "text"]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^verdict: Delivered both ways at hop \d+/m);
      const path = await keepText(cluster, "cross-node", text.stdout);
      process.stderr.write(`[kind] ${cluster.name}: \`${text.argv.join(" ")}\` → ${path}\n`);
    });

    it("pod → Service with an endpoint on each node: the rules kube-proxy wrote, the endpoint followed", async () => {
      const cluster = c();
      const { workerB: client, cpA: endpoint } = w;
      const target = `${endpoint.ip}:${ECHO_PORT}`;
      const answers = new Set<string>();
      for (let i = 0; i < 12 && answers.size < 2; i++) {
        const r = await connect(cluster, client, w.web.clusterIp, SERVICE_PORT);
        if (r.answer) answers.add(r.answer);
      }
      expect([...answers].sort(), "real connections to web reach both endpoints").toEqual([
        w.cpA.name,
        w.workerA.name,
      ]);
      const args = ["-n", TRACE_NAMESPACE, client.name, "svc/web", "--endpoint", target];
      const { run, result } = await traceJson(cluster, args);
      expect(run.code, run.stderr).toBe(0);
      expectDeliveredBothWays(result, "pod → Service");
      expect(result.packet).toMatchObject({ dst: w.web.clusterIp, dport: SERVICE_PORT });
      await expectPodNetns(result, client);
      await expectPodNetns(result, endpoint);
      await expectHostVeth(result, client, true);
      await expectHostVeth(result, endpoint, true);
      await expectCrossing(result, client.node, "request");
      const text = await kubectlNetmap(cluster, [...args, "-o", "text"]);
      expect(text.code, text.stderr).toBe(0);
      const textPath = await keepText(cluster, "pod-to-service", text.stdout);
      process.stderr.write(`[kind] ${cluster.name}: \`${text.argv.join(" ")}\` → ${textPath}\n`);
      const svcHop = result.hops.find((h) => h.endpoints !== undefined);
      expect(svcHop?.node, "the Service hop is on the client's node").toBe(client.node);
      const dnat = result.hops.find((h) => h.action === "dnat");
      expect(dnat?.packet).toMatchObject({ dst: endpoint.ip, dport: ECHO_PORT });
      const chosen = svcHop?.endpoints?.find((e) => e.chosen);
      expect(chosen?.address).toBe(target);
      const want = w.web.endpoints.map((ip) => `${ip}:${ECHO_PORT}`).sort();
      expect(svcHop?.endpoints?.map((e) => e.address).sort()).toEqual(want);
      if (cluster.proxyMode === "iptables") {
        // KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… DNAT, as iptables-save on the client's node has them.
        const nat = await iptablesSave(cluster, client.node, "nat");
        const ip = w.web.clusterIp.replaceAll(".", "\\.");
        const svcLine = nat.find((l) =>
          new RegExp(`^-A KUBE-SERVICES -d ${ip}/32 -p tcp .*--dport ${SERVICE_PORT} -j KUBE-SVC-`).test(l),
        );
        const svcChain = /-j (KUBE-SVC-[A-Z0-9]+)$/.exec(svcLine ?? "")?.[1];
        expect(
          svcChain,
          `KUBE-SVC chain of ${w.web.clusterIp} in iptables-save on ${client.node}`,
        ).toBeDefined();
        expect(svcHop?.rule).toMatch(new RegExp(`^nat/${svcChain} rule \\d+$`));
        const sepOf = new Map<string, string>();
        for (const l of nat) {
          const m = /^-A (KUBE-SEP-[A-Z0-9]+) .*-j DNAT --to-destination (\S+)$/.exec(l);
          if (m?.[1] && m[2] && nat.some((x) => x.startsWith(`-A ${svcChain} `) && x.endsWith(`-j ${m[1]}`)))
            sepOf.set(m[2], m[1]);
        }
        expect([...sepOf.keys()].sort()).toEqual(want);
        expect(svcHop?.endpoints?.map((e) => `${e.address} ${e.via}`).sort()).toEqual(
          [...sepOf].map(([a, sep]) => `${a} ${sep}`).sort(),
        );
        expect(dnat?.rule).toMatch(new RegExp(`^nat/${sepOf.get(target)} rule \\d+$`));
        for (const h of [svcHop, dnat]) {
          expect(h?.evidence.length, `evidence of hop ${h?.index}`).toBeGreaterThan(0);
          for (const e of h?.evidence ?? [])
            expect(nat, `evidence of hop ${h?.index}`).toContain(withoutCounters(e.text));
        }
      } else {
        // The service-ips map element → service-… chain → endpoint-… chains' dnat, as nft lists them.
        const nft = await kubeProxyNft(cluster, client.node);
        const ip = w.web.clusterIp.replaceAll(".", "\\.");
        const svcChain = new RegExp(`${ip} \\. tcp \\. ${SERVICE_PORT} : goto (service-[^\\s,}]+)`).exec(
          nft.text,
        )?.[1];
        expect(
          svcChain,
          `service chain of ${w.web.clusterIp} in kube-proxy's table on ${client.node}`,
        ).toBeDefined();
        expect(svcHop?.rule).toMatch(
          new RegExp(`^ip kube-proxy/${svcChain?.replaceAll("/", "\\/")} rule \\d+$`),
        );
        const endpointChains = [
          ...(nft.chains.get(svcChain ?? "")?.join("\n") ?? "").matchAll(/goto (endpoint-[^\s,}]+)/g),
        ].map((m) => m[1] as string);
        const epOf = new Map<string, string>();
        for (const ch of endpointChains) {
          const to = /dnat to (\S+)/.exec(nft.chains.get(ch)?.join("\n") ?? "")?.[1];
          if (to) epOf.set(to, ch);
        }
        expect([...epOf.keys()].sort()).toEqual(want);
        expect(svcHop?.endpoints?.map((e) => `${e.address} ${e.via}`).sort()).toEqual(
          [...epOf].map(([a, ch]) => `${a} ${ch}`).sort(),
        );
        expect(dnat?.rule).toMatch(
          new RegExp(`^ip kube-proxy/${epOf.get(target)?.replaceAll("/", "\\/")} rule \\d+$`),
        );
        for (const h of [svcHop, dnat]) {
          expect(h?.evidence.length, `evidence of hop ${h?.index}`).toBeGreaterThan(0);
          const chain = /^ip kube-proxy\/(\S+) rule/.exec(h?.rule ?? "")?.[1] ?? "";
          for (const e of h?.evidence ?? [])
            expect(nft.chains.get(chain), `evidence of hop ${h?.index}`).toContain(e.text);
        }
      }
      // The reply has the Service's address put back where the request was DNATed.
      const undnat = result.hops.find(
        (h) => h.direction === "reply" && h.primitive === "conntrack" && h.action === "un-dnat",
      );
      expect(undnat?.node).toBe(client.node);
      expect(undnat?.summary).toContain(`${w.web.clusterIp}:${SERVICE_PORT}`);
    });

    it("pod → Service without endpoints: Rejected (exit 4) by kube-proxy's rule for it", async () => {
      const cluster = c();
      const client = w.workerB;
      const real = await connect(cluster, client, w.nowhere.clusterIp, SERVICE_PORT, 1);
      expect(real.error, "a real connection to nowhere").toMatch(/Connection refused/);
      const { run, result } = await traceJson(cluster, ["-n", TRACE_NAMESPACE, client.name, "svc/nowhere"]);
      expect(run.code, run.stderr).toBe(4);
      expect(result.verdict).toBe("Rejected");
      expect(result.findings.map((f) => f.code)).toContain("SERVICE_NO_ENDPOINTS");
      const last = result.hops.find((h) => h.index === result.stoppedAt);
      expect(last).toMatchObject({ node: client.node, netns: "host", action: "reject" });
      if (cluster.proxyMode === "iptables") {
        const filter = await iptablesSave(cluster, client.node, "filter");
        const ip = w.nowhere.clusterIp.replaceAll(".", "\\.");
        const reject = filter.find((l) =>
          new RegExp(
            `^-A KUBE-SERVICES -d ${ip}/32 .*netmap-e2e/nowhere:http has no endpoints.* -j REJECT`,
          ).test(l),
        );
        expect(reject, `kube-proxy's REJECT for nowhere in iptables-save on ${client.node}`).toBeDefined();
        expect(last?.rule).toMatch(/^filter\/KUBE-SERVICES rule \d+$/);
        expect(last?.evidence.map((e) => withoutCounters(e.text))).toContain(reject);
      } else {
        const nft = await kubeProxyNft(cluster, client.node);
        const ip = w.nowhere.clusterIp.replaceAll(".", "\\.");
        expect(nft.text, "nowhere in kube-proxy's no-endpoint-services map").toMatch(
          new RegExp(
            `${ip} \\. tcp \\. ${SERVICE_PORT} comment "netmap-e2e/nowhere:http" : goto reject-chain`,
          ),
        );
        expect(
          result.hops.some((h) => /^ip kube-proxy\/service-endpoints-check rule \d+$/.test(h.rule ?? "")),
        ).toBe(true);
        expect(last?.rule).toMatch(/^ip kube-proxy\/reject-chain rule \d+$/);
        expect(last?.evidence.length, "evidence of the rejecting hop").toBeGreaterThan(0);
        for (const e of last?.evidence ?? []) expect(nft.chains.get("reject-chain")).toContain(e.text);
      }
    });

    it("hostNetwork pod → pod on the other node: from the node's own netns, Delivered both ways", async () => {
      const cluster = c();
      const { hostNet: from, workerA: to } = w;
      expect(from.ip).toBe(fact(from.node).address);
      expect(await connect(cluster, from, to.ip, ECHO_PORT)).toEqual({ answer: to.name });
      const { run, result } = await traceJson(cluster, [
        "-n",
        TRACE_NAMESPACE,
        from.name,
        to.name,
        "--port",
        `${ECHO_PORT}`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expectDeliveredBothWays(result, "hostNetwork → pod");
      expect(result.packet.src).toBe(from.ip);
      const first = result.hops.find((h) => h.direction === "request");
      expect(first).toMatchObject({ node: from.node, netns: "host" });
      expect(on(result.hops, from.node).every((h) => h.netns === "host")).toBe(true);
      const back = result.directions.find((d) => d.direction === "reply");
      expect(back?.reason).toContain(`host netns of ${from.node}`);
      await expectPodNetns(result, to);
      await expectHostVeth(result, to, true);
      // The reply goes back to the node's own address: the network's way between nodes (flannel
      // masquerades a node's packets to pods elsewhere to its flannel.1 address; kindnet does not).
      await expectCrossing(result, from.node, "request");
    });

    it("helm uninstall leaves nothing of netmap (CRDs as the chart's policy says)", async () => {
      const cluster = c();
      // kubectl netmap deleted every trace it made (none was --keep), and their segments with them.
      const left = await cluster.kubectl(["get", "networktraces,networktracesegments", "-A", "-o", "name"]);
      expect(left.trim(), "NetworkTraces and segments left by kubectl netmap").toBe("");
      await helmUninstall(cluster).catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}\n${await releaseDiagnostics(cluster)}`);
      });
      const crds = release.objects.filter((o) => o.kind === "CustomResourceDefinition");
      const kept = new Set([...crds.filter((o) => o.keep).map((o) => o.name), ...release.crdsDirectory]);
      // Every object of the release is gone (or, a CRD, kept by policy), and nothing the operator
      // made at run time is left: the probe DaemonSet and its pods, Leases.
      const gone = async (): Promise<string[]> => {
        const still: string[] = [];
        for (const o of release.objects) {
          if (o.kind === "CustomResourceDefinition" && kept.has(o.name)) continue;
          const ns = o.namespace === "-" ? [] : ["-n", o.namespace];
          const r = await cluster.kubectl(["get", o.kind, o.name, ...ns, "--ignore-not-found", "-o", "name"]);
          if (r.trim()) still.push(r.trim());
        }
        const inNamespace = await cluster.kubectl([
          "-n",
          RELEASE_NAMESPACE,
          "get",
          "daemonsets,deployments,replicasets,pods,configmaps,serviceaccounts,roles,rolebindings,leases,services",
          "-o",
          "name",
        ]);
        for (const n of inNamespace.split("\n").filter(Boolean)) {
          // What Kubernetes puts in every namespace is not netmap's.
          if (n === "configmap/kube-root-ca.crt" || n === "serviceaccount/default") continue;
          still.push(`${RELEASE_NAMESPACE}: ${n}`);
        }
        const clusterWide = await cluster.kubectl([
          "get",
          "clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings,customresourcedefinitions",
          "-o",
          "name",
        ]);
        for (const n of clusterWide.split("\n").filter((l) => /netmap/.test(l))) {
          const crd = /^customresourcedefinition\.apiextensions\.k8s\.io\/(.+)$/.exec(n)?.[1];
          if (crd && kept.has(crd)) continue;
          still.push(n);
        }
        return still;
      };
      let still = await gone();
      // Pods end gracefully and garbage collection takes the operator-made DaemonSet: bounded wait.
      for (let i = 0; i < 60 && still.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 2_000));
        still = await gone();
      }
      expect(still, "left after helm uninstall").toEqual([]);
      for (const crd of kept) {
        await cluster.kubectl(["get", "crd", crd, "-o", "name"]);
      }
      // And no container of the release's namespace runs on any node any more (containerd's view).
      for (const node of cluster.nodes) {
        const ids = (
          await cluster.execOk(node, [
            "ctr",
            "-n",
            "k8s.io",
            "containers",
            "list",
            "-q",
            `labels."io.kubernetes.pod.namespace"==${RELEASE_NAMESPACE}`,
          ])
        )
          .split("\n")
          .filter(Boolean);
        const tasks = await cluster.execOk(node, ["ctr", "-n", "k8s.io", "tasks", "list"]);
        const running = tasks
          .split("\n")
          .filter((l) => /\bRUNNING\b/.test(l))
          .map((l) => l.split(/\s+/)[0]);
        expect(
          ids.filter((id) => running.includes(id)),
          `running containers of ${RELEASE_NAMESPACE} on ${node}`,
        ).toEqual([]);
      }
    });
  });
}

/**
 * A node with 100k+ kube-proxy rules, online: node-1 of the kernel lab gets kube-proxy's iptables
 * rules for 10,000 Services × 5 endpoints (the bench's generator: 170,026 rules, 60,018 chains),
 * the API server a Service in the middle of them (svc5000, whose first endpoint is a real lab pod on
 * node-2), and a trace from a node-1 pod to it runs through the real operator and probes. The
 * probe of node-1 reads iptables chain by chain, so its memory stays bounded: its peak RSS (VmHWM)
 * must stay under the chart's default memory limit for a probe (256 MiB), and is printed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterIpOf, SERVICE_PORT, TARGET_PORT, writeRulesetFiles } from "../bench/ruleset.js";
import { iptablesBaseJumps } from "../kube-proxy/index.js";
import { inNetns, runOk } from "../lab/exec.js";
import { apply, LAB_NAMESPACE, runTrace } from "../operator/cluster.js";
import { onlineFixture } from "../operator/fixture.js";

const f = onlineFixture({ labName: "fltbig", overlay: "vxlan", mode: "iptables" });
const SERVICES = 10_000;
const ENDPOINTS = 5;
const TRACED = 5000;
/** The chart's default memory limit for a probe (values.yaml probe.resources.limits.memory). */
const PROBE_LIMIT_BYTES = 256 * 1024 * 1024;

const status = (pid: number, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
};
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

describe("a node with 100k+ kube-proxy rules, online", () => {
  it("loads kube-proxy's rules for 10,000 Services × 5 endpoints into node-1", async () => {
    const node = f.lab.nodes[0]?.netns as string;
    const target = f.pod("pod-2-1");
    const files = await writeRulesetFiles(f.dir, {
      services: SERVICES,
      endpointsPerService: ENDPOINTS,
      traced: { index: TRACED, endpoints: [target.ip] },
    });
    // The lab's own rules but kube-proxy's (the CNI plugin's masquerade chains) go back after the
    // full restore of kube-proxy's sync, then kube-proxy's jumps from the built-in chains, as the
    // bench does (a --noflush restore of 60k chains is quadratic in iptables-nft 1.8.9).
    const saved = await runOk(inNetns(node, ["iptables-save"]));
    const own = join(f.dir, "lab-own.iptables");
    writeFileSync(
      own,
      saved
        .split("\n")
        .filter((l) => !l.includes("KUBE-"))
        .join("\n"),
    );
    const t0 = Date.now();
    await runOk(inNetns(node, ["iptables-restore", files.iptables[0] as string]), { timeoutMs: 300_000 });
    await runOk(inNetns(node, ["iptables-restore", "--noflush", own]), { timeoutMs: 60_000 });
    const jumps = join(f.dir, "jumps.iptables");
    writeFileSync(jumps, iptablesBaseJumps({}));
    await runOk(inNetns(node, ["iptables-restore", "--noflush", jumps]), { timeoutMs: 60_000 });
    const rules = (await runOk(inNetns(node, ["iptables-save"]), { timeoutMs: 120_000 }))
      .split("\n")
      .filter((l) => l.startsWith("-A ")).length;
    console.log(
      `[big-node] node-1: ${rules} iptables rules loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(rules).toBeGreaterThan(100_000);
    await apply(f.cp, [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns0" } },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: `svc${TRACED}`, namespace: "ns0" },
        spec: {
          clusterIP: clusterIpOf(TRACED),
          clusterIPs: [clusterIpOf(TRACED)],
          ports: [{ name: "http", protocol: "TCP", port: SERVICE_PORT, targetPort: TARGET_PORT }],
        },
      },
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: `svc${TRACED}-lab`,
          namespace: "ns0",
          labels: { "kubernetes.io/service-name": `svc${TRACED}` },
        },
        addressType: "IPv4",
        endpoints: [
          {
            addresses: [target.ip],
            conditions: { ready: true },
            nodeName: target.node,
            targetRef: { kind: "Pod", name: target.name, namespace: LAB_NAMESPACE },
          },
        ],
        ports: [{ name: "http", port: TARGET_PORT, protocol: "TCP" }],
      },
    ]);
  }, 600_000);

  it("traces pod-1-1 → svc5000 through them with node-1's probe under its memory limit", async () => {
    // A fresh probe on node-1: its peak RSS is this trace's.
    await f.probes.get("node-1")?.stop();
    await f.restartProbe("node-1");
    const pid = f.probes.get("node-1")?.child.pid as number;
    await new Promise((r) => setTimeout(r, 2000));
    const idle = status(pid, "VmRSS");
    const t0 = Date.now();
    const t = await runTrace(
      f.cp,
      "big-node",
      {
        source: { pod: "pod-1-1" },
        destination: { namespace: "ns0", service: `svc${TRACED}` },
        port: SERVICE_PORT,
        timeoutSeconds: 120,
      },
      150_000,
    );
    const ms = Date.now() - t0;
    const peak = status(pid, "VmHWM");
    const after = status(pid, "VmRSS");
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(t.status?.verdict).toBe("Delivered");
    expect(t.status?.destination).toContain(`svc ns0/svc${TRACED} ${clusterIpOf(TRACED)}:${SERVICE_PORT}`);
    const dnat = t.status?.hops?.find((h) => h.node === "node-1" && h.action === "dnat");
    expect(dnat?.summary ?? "").toContain(`${f.pod("pod-2-1").ip}:${TARGET_PORT}`);
    console.log(
      `[big-node] trace pod-1-1 → svc${TRACED} through ${SERVICES * ENDPOINTS}-endpoint rules: ${t.status?.verdict}, ${t.status?.hopCount} hops, ${(ms / 1000).toFixed(1)} s; node-1 probe RSS idle ${mib(idle)}, peak ${mib(peak)} (VmHWM), after ${mib(after)}`,
    );
    expect(peak).toBeLessThan(PROBE_LIMIT_BYTES);
  }, 200_000);
});

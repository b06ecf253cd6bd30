/**
 * netmap online, end to end: a real kube-apiserver (RBAC, CEL, watches), the chart's manifests as
 * `helm template` renders them, the operator and one probe process per node of a real kernel lab
 * (VXLAN between nodes, the CNI bridge plugin, kube-proxy's iptables rules), each authenticating
 * with its own ServiceAccount token. Every trace is created as a NetworkTrace object and must give
 * the same hops, verdict and findings as the offline trace of the same lab.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NetworkTrace, traceResultOf } from "@netmap/api";
import {
  assembleNodeState,
  clusterFactsFromNodes,
  type NodeState,
  type Packet,
  type TraceResult,
  trace,
} from "@netmap/core";
import { collectNode } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CommandError, type ControlPlane, startControlPlane } from "../control-plane/index.js";
import { createLab, type Lab } from "../lab/lab.js";
import { installServices, type LabServices, SERVICE_PORT } from "../lab/services.js";
import {
  apply,
  describeLab,
  LAB_NAMESPACE,
  OPERATOR_NAMESPACE,
  type Proc,
  renderChart,
  runTrace,
  startOperator,
  startProbe,
  waitFinished,
} from "./cluster.js";

const dir = mkdtempSync(join(tmpdir(), "netmap-online-"));
let cp: ControlPlane;
let lab: Lab;
let services: LabServices;
const procs: Proc[] = [];
const probes = new Map<string, Proc>();
let operator: Proc;

beforeAll(async () => {
  const tools = inject("netmapTools");
  cp = await startControlPlane({
    tools: {
      kubeApiserver: tools["kube-apiserver"] as string,
      kubectl: tools.kubectl as string,
      etcd: tools.etcd as string,
    },
  });
  lab = await createLab({ name: "cponline", nodes: 3, podsPerNode: 2, overlay: "vxlan" });
  services = await installServices(lab, "iptables");
  await cp.kubectl(["create", "namespace", OPERATOR_NAMESPACE]);
  await cp.kubectl(["apply", "--server-side", "-f", "-"], { input: await renderChart(tools.helm as string) });
  await cp.kubectl([
    "wait",
    "--for=condition=Established",
    "crd/networktraces.netmap.io",
    "crd/networktracesegments.netmap.io",
  ]);
  await describeLab(cp, lab, services);
  operator = await startOperator(cp, dir);
  procs.push(operator);
  for (const n of lab.nodes) {
    const p = await startProbe(cp, lab, n.name, dir);
    probes.set(n.name, p);
    procs.push(p);
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await lab?.destroy();
  await cp?.stop();
});

/** The offline trace of the same lab: every node captured whole (as `kubectl netmap snapshot` does). */
async function offline(packet: Packet, endpoint?: number): Promise<TraceResult> {
  const pods = lab.pods.map((p) => ({ namespace: p.namespace, name: p.name, ips: [p.ip] }));
  const nodes: NodeState[] = [];
  for (const n of lab.nodes)
    nodes.push(
      assembleNodeState(await collectNode({ node: n.name, hostNetns: `/var/run/netns/${n.netns}`, pods })),
    );
  return trace({
    nodes,
    facts: clusterFactsFromNodes(nodes),
    packet,
    ...(endpoint !== undefined ? { endpoint } : {}),
  });
}

/**
 * The probe reads iptables chain by chain (`iptables -S CHAIN -v`), a snapshot reads `iptables-save
 * -c`: the same rule, printed two ways, with line numbers of their own listings. Evidence becomes
 * the rule itself; everything else must be equal.
 */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (typeof o.source === "string" && typeof o.text === "string" && /^iptables/.test(o.source))
    return o.text.replace(/^\[\d+:\d+\] /, "").replace(/ -c \d+ \d+/, "");
  if (typeof o.source === "string" && typeof o.text === "string" && /^(nft |netlink )/.test(o.source))
    return o.text;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, comparable(v)]));
}

function resultOf(t: NetworkTrace): TraceResult {
  const r = traceResultOf(t);
  if (!r) throw new Error(`trace ${t.metadata.name} has no result: ${t.status?.phase} ${t.status?.message}`);
  return r;
}

const pod = (name: string) => {
  const p = lab.pods.find((x) => x.name === name);
  if (!p) throw new Error(`no lab pod ${name}: ${lab.pods.map((x) => x.name).join(", ")}`);
  return p;
};

describe("NetworkTrace online over the kernel lab", () => {
  it("traces pod → pod on the same node as the offline trace does", async () => {
    const [a, b] = [lab.pods[0], lab.pods[1]];
    if (!a || !b || a.node !== b.node) throw new Error("the lab's first two pods share a node");
    const t0 = Date.now();
    const t = await runTrace(cp, "same-node", {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "tcp",
      port: 8080,
    });
    const ms = Date.now() - t0;
    const want = await offline({ protocol: "tcp", src: a.ip, dst: b.ip, sport: 40000, dport: 8080 });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(comparable(resultOf(t))).toEqual(comparable(want));
    expect(t.status?.verdict).toBe("Delivered");
    expect(t.status?.nodes?.every((n) => n.state === "Done")).toBe(true);
    console.log(
      `[online] same node: ${t.status?.hopCount} hops, ${t.status?.nodes?.length} node walks, ${ms} ms create → Succeeded`,
    );
  });

  it("traces pod → pod across nodes over VXLAN, both directions, as the offline trace does", async () => {
    const a = lab.pods[0];
    const b = lab.pods.find((p) => p.node !== a?.node);
    if (!a || !b) throw new Error("no cross-node pair");
    const t = await runTrace(cp, "cross-node", {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "tcp",
      port: 8080,
    });
    const want = await offline({ protocol: "tcp", src: a.ip, dst: b.ip, sport: 40000, dport: 8080 });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(comparable(resultOf(t))).toEqual(comparable(want));
    const nodes = new Set(t.status?.nodes?.map((n) => n.node));
    expect(nodes.size).toBe(2);
    expect(t.status?.nodes?.some((n) => n.direction === "reply")).toBe(true);
    const segments = JSON.parse(
      await cp.kubectl([
        "get",
        "networktracesegments",
        "-n",
        LAB_NAMESPACE,
        "-l",
        `netmap.io/trace-uid=${t.metadata.uid}`,
        "-o",
        "json",
      ]),
    ) as { items: Array<{ spec: { nodeName: string }; status?: { probe?: string } }> };
    // Each node's part was written by that node's probe.
    for (const s of segments.items) expect(s.status?.probe).toBe(`netmap-probe-${s.spec.nodeName}`);
  });

  it("traces pod → Service (kube-proxy iptables rules) to the endpoint asked for, as the offline trace does", async () => {
    const a = pod("pod-1-2");
    for (const endpoint of [1, 2]) {
      const t = await runTrace(cp, `svc-web-${endpoint}`, {
        source: { pod: a.name },
        destination: { service: services.web.model.name },
        protocol: "tcp",
        port: SERVICE_PORT,
        endpoint,
      });
      const want = await offline(
        { protocol: "tcp", src: a.ip, dst: services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
        endpoint,
      );
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(t.status?.destination).toContain("svc netmap-lab/web 10.96.0.10:80");
      expect(comparable(resultOf(t))).toEqual(comparable(want));
      expect(t.status?.verdict).toBe("Delivered");
    }
  });

  it("traces pod → Service without endpoints to kube-proxy's REJECT, as the offline trace does", async () => {
    const a = pod("pod-1-2");
    const t = await runTrace(cp, "svc-empty", {
      source: { pod: a.name },
      destination: { service: services.empty.model.name },
      protocol: "tcp",
      port: SERVICE_PORT,
    });
    const want = await offline({
      protocol: "tcp",
      src: a.ip,
      dst: services.empty.clusterIP,
      sport: 40000,
      dport: SERVICE_PORT,
    });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(comparable(resultOf(t))).toEqual(comparable(want));
    expect(t.status?.verdict).toBe("Rejected");
    expect(t.status?.findings?.map((f) => f.code)).toContain("SERVICE_NO_ENDPOINTS");
  });

  it("stops at an injected fault (the destination's veth down) as the offline trace does", async () => {
    const a = lab.pods[0];
    const b = lab.pods.find((p) => p.node !== a?.node);
    if (!a || !b) throw new Error("no cross-node pair");
    await lab.setLinkDown(b.nodeNetns, b.hostVeth);
    // A probe reuses one read of its node for 1 s (--state-ttl-ms): let the reads before the fault expire.
    await new Promise((r) => setTimeout(r, 1100));
    try {
      const t = await runTrace(cp, "fault-link-down", {
        source: { pod: a.name },
        destination: { pod: b.name },
        protocol: "icmp",
      });
      const want = await offline({ protocol: "icmp", src: a.ip, dst: b.ip });
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(comparable(resultOf(t))).toEqual(comparable(want));
      expect(t.status?.verdict).not.toBe("Delivered");
    } finally {
      await lab.setLinkUp(b.nodeNetns, b.hostVeth);
    }
  });

  it("fails a trace whose node does not answer within its timeout, naming the node", async () => {
    const b = lab.pods.find((p) => p.node === lab.nodes[2]?.name);
    const a = lab.pods[0];
    if (!a || !b) throw new Error("no pod on node 3");
    const probe = probes.get(b.node);
    await probe?.stop();
    try {
      const t0 = Date.now();
      const t = await runTrace(cp, "no-probe", {
        source: { pod: a.name },
        destination: { pod: b.name },
        protocol: "tcp",
        port: 8080,
        timeoutSeconds: 3,
      });
      expect(t.status?.phase).toBe("Failed");
      expect(t.status?.message).toContain(`node ${b.node} did not answer`);
      expect(t.status?.conditions?.find((c) => c.type === "Completed")?.reason).toBe("NodeDidNotAnswer");
      expect(Date.now() - t0).toBeLessThan(10_000);
      const events = await cp.kubectl([
        "get",
        "events",
        "-n",
        LAB_NAMESPACE,
        "--field-selector",
        "involvedObject.name=no-probe",
        "-o",
        "json",
      ]);
      expect(events).toContain("NodeDidNotAnswer");
    } finally {
      const p = await startProbe(cp, lab, b.node, dir);
      probes.set(b.node, p);
      procs.push(p);
    }
  });

  it("refuses an unknown pod with a close name, and invalid objects with the CEL rule's message", async () => {
    const t = await runTrace(cp, "typo", {
      source: { pod: "pod-1-l" },
      destination: { pod: "pod-2-1" },
      protocol: "tcp",
      port: 8080,
    });
    expect(t.status?.phase).toBe("Failed");
    expect(t.status?.message).toMatch(/source pod netmap-lab\/pod-1-l not found; did you mean pod-1-1/);
    const bad = async (spec: unknown): Promise<string> => {
      try {
        await cp.kubectl(["create", "-f", "-"], {
          input: JSON.stringify({
            apiVersion: "netmap.io/v1alpha1",
            kind: "NetworkTrace",
            metadata: { name: "bad", namespace: LAB_NAMESPACE },
            spec,
          }),
        });
      } catch (e) {
        if (e instanceof CommandError) return e.stderr;
        throw e;
      }
      throw new Error(`the API server accepted ${JSON.stringify(spec)}`);
    };
    expect(
      await bad({ source: { pod: "a" }, destination: { pod: "b", ip: "10.0.0.1" }, port: 80 }),
    ).toContain("destination: set exactly one of pod, service or ip");
    expect(await bad({ source: { pod: "a" }, destination: { pod: "b" }, protocol: "tcp" })).toContain(
      "port is required for tcp and udp",
    );
    expect(
      await bad({ source: { pod: "a", node: "n" }, destination: { pod: "b" }, protocol: "icmp" }),
    ).toContain("source: set exactly one of pod or node");
    expect(
      await bad({ source: { pod: "a" }, destination: { ip: "10.0.0.999" }, protocol: "icmp" }),
    ).toContain("destination.ip must be an IP address");
    expect(await bad({ source: { pod: "a" }, destination: { service: "web" }, protocol: "icmp" })).toContain(
      "a Service destination needs protocol tcp or udp",
    );
  });

  it("shows the printer columns in kubectl get ntrace", async () => {
    const out = await cp.kubectl(["get", "ntrace", "-n", LAB_NAMESPACE]);
    const header = out.split("\n")[0] ?? "";
    expect(header.split(/\s+/)).toEqual(["NAME", "SOURCE", "DESTINATION", "PHASE", "VERDICT", "HOPS", "AGE"]);
    expect(out).toMatch(/cross-node\s+netmap-lab\/pod-1-1 \(10\.244\.1\.\d+ on node-1\)/);
    console.log(`[online] kubectl get ntrace:\n${out}`);
  });

  it("deletes a finished trace and its segments after its time-to-live", async () => {
    const [a, b] = [lab.pods[0], lab.pods[1]];
    if (!a || !b) throw new Error("no pods");
    const t = await runTrace(cp, "short-lived", {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "icmp",
      ttlSecondsAfterFinished: 1,
    });
    expect(t.status?.phase).toBe("Succeeded");
    const deadline = Date.now() + 15_000;
    for (;;) {
      const left = await cp.kubectl([
        "get",
        "ntrace,ntseg",
        "-n",
        LAB_NAMESPACE,
        "-l",
        `netmap.io/trace-uid=${t.metadata.uid}`,
        "-o",
        "name",
      ]);
      const trace = await cp.kubectl([
        "get",
        "ntrace",
        "short-lived",
        "-n",
        LAB_NAMESPACE,
        "-o",
        "name",
        "--ignore-not-found",
      ]);
      if (left.trim() === "" && trace.trim() === "") break;
      if (Date.now() > deadline) throw new Error(`still there: ${left} ${trace}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it("deploys the probe DaemonSet from its configuration, rolls it on a change, removes it with the configuration", async () => {
    const get = async () =>
      JSON.parse(
        (await cp.kubectl([
          "get",
          "daemonset",
          "netmap-probe",
          "-n",
          OPERATOR_NAMESPACE,
          "-o",
          "json",
          "--ignore-not-found",
        ])) || "null",
      ) as {
        metadata: { ownerReferences: Array<{ kind: string; name: string }> };
        spec: {
          template: {
            metadata: { annotations: Record<string, string> };
            spec: { tolerations: unknown[]; hostPID: boolean; containers: Array<{ command: string[] }> };
          };
        };
      } | null;
    const until = async <T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const v = await f();
        if (ok(v)) return v;
        if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const ds = await until(get, (d) => d !== null);
    expect(ds?.metadata.ownerReferences[0]).toMatchObject({ kind: "ConfigMap", name: "netmap-probe" });
    expect(ds?.spec.template.spec.tolerations).toEqual([{ operator: "Exists" }]);
    expect(ds?.spec.template.spec.hostPID).toBe(true);
    expect(ds?.spec.template.spec.containers[0]?.command.slice(0, 2)).toEqual([
      "node",
      "--max-semi-space-size=2",
    ]);
    const hash = ds?.spec.template.metadata.annotations["netmap.io/config-hash"];
    const cm = JSON.parse(
      await cp.kubectl(["get", "configmap", "netmap-probe", "-n", OPERATOR_NAMESPACE, "-o", "json"]),
    ) as {
      data: Record<string, string>;
    };
    const changed = (cm.data["probe.yaml"] ?? "").replace("logLevel: info", "logLevel: debug");
    await apply(cp, [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "netmap-probe",
          namespace: OPERATOR_NAMESPACE,
          labels: { "netmap.io/probe-config": "true" },
        },
        data: { "probe.yaml": changed },
      },
    ]);
    const rolled = await until(
      get,
      (d) => d?.spec.template.metadata.annotations["netmap.io/config-hash"] !== hash,
    );
    expect(rolled?.spec.template.spec.containers[0]?.command).toContain("--log-level=debug");
    await cp.kubectl(["delete", "configmap", "netmap-probe", "-n", OPERATOR_NAMESPACE]);
    await until(get, (d) => d === null);
  });

  it("serves its metrics: traces by verdict, durations, per-node answer latency", async () => {
    const m = /"msg":"serving \/metrics, \/healthz, \/readyz".*"port":(\d+)/.exec(
      readFileSync(operator.log, "utf8"),
    );
    expect(m).not.toBeNull();
    const base = `http://127.0.0.1:${m?.[1]}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/netmap_traces_total\{phase="Succeeded",verdict="Delivered"\} [1-9]/);
    expect(text).toMatch(/netmap_trace_duration_seconds_count\{phase="Succeeded"\} [1-9]/);
    expect(text).toMatch(/netmap_node_answer_seconds_count\{node="node-1"\} [1-9]/);
    expect(text).toMatch(/netmap_workqueue_depth\{queue="networktraces"\} 0/);
  });
});

void waitFinished;

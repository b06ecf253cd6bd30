/**
 * netmap online, end to end: a real kube-apiserver (RBAC, CEL, watches), the chart's manifests as
 * `helm template` renders them, the operator and one probe process per node of a real kernel lab
 * (VXLAN between nodes, the CNI bridge plugin, kube-proxy's iptables rules), each authenticating
 * with its own ServiceAccount token. Every trace is created as a NetworkTrace object and must give
 * the same hops, verdict and findings as the offline trace of the same lab.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Packet } from "@netmap/core";
import { describe, expect, it } from "vitest";
import { CommandError, execCommand } from "../control-plane/index.js";
import { repoRoot } from "../control-plane/tools.js";
import { SERVICE_PORT } from "../lab/services.js";
import { apply, LAB_NAMESPACE, OPERATOR_NAMESPACE, runTrace } from "./cluster.js";
import { afterStateTtl, comparable, offlineTrace, onlineFixture, resultOf } from "./fixture.js";

const f = onlineFixture({ labName: "cponline", overlay: "vxlan", mode: "iptables" });
const offline = (packet: Packet, endpoint?: number) => offlineTrace(f.lab, packet, endpoint);
const pod = (name: string) => f.pod(name);
const PLUGIN = join(repoRoot(), "kubectl-plugin/bin/kubectl-netmap.js");

describe("NetworkTrace online over the kernel lab", () => {
  it("traces pod → pod on the same node as the offline trace does", async () => {
    const [a, b] = [f.lab.pods[0], f.lab.pods[1]];
    if (!a || !b || a.node !== b.node) throw new Error("the lab's first two pods share a node");
    const t0 = Date.now();
    const t = await runTrace(f.cp, "same-node", {
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
    const a = f.lab.pods[0];
    const b = f.lab.pods.find((p) => p.node !== a?.node);
    if (!a || !b) throw new Error("no cross-node pair");
    const t = await runTrace(f.cp, "cross-node", {
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
      await f.cp.kubectl([
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
      const t = await runTrace(f.cp, `svc-web-${endpoint}`, {
        source: { pod: a.name },
        destination: { service: f.services.web.model.name },
        protocol: "tcp",
        port: SERVICE_PORT,
        endpoint,
      });
      const want = await offline(
        { protocol: "tcp", src: a.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
        endpoint,
      );
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(t.status?.destination).toContain("svc netmap-lab/web 10.96.0.10:80");
      expect(comparable(resultOf(t))).toEqual(comparable(want));
      expect(t.status?.verdict).toBe("Delivered");
    }
  });

  it("kubectl netmap pod-1-2 svc/web --port 80 (the real plugin binary, online) gives the offline trace's hops", async () => {
    const a = pod("pod-1-2");
    const run = (output: string) =>
      execCommand(
        [
          process.execPath,
          PLUGIN,
          a.name,
          "svc/web",
          "--port",
          "80",
          "--endpoint",
          "1",
          "-n",
          LAB_NAMESPACE,
          "--kubeconfig",
          f.cp.kubeconfigPath,
          "-o",
          output,
        ],
        { timeoutMs: 90_000 },
      );
    const count = async () =>
      (await f.cp.kubectl(["get", "ntrace", "-n", LAB_NAMESPACE, "-o", "name"])).trim().split("\n").length;
    const before = await count();
    const json = await run("json");
    expect(json.code, json.stderr).toBe(0);
    const want = await offline(
      { protocol: "tcp", src: a.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
      1,
    );
    expect(comparable(JSON.parse(json.stdout))).toEqual(comparable(want));
    const text = await run("text");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Delivered/);
    console.log(
      `[online] kubectl netmap ${a.name} svc/web --port 80 --endpoint 1 -n ${LAB_NAMESPACE} -o text:\n${text.stdout}`,
    );
    // The plugin deletes its NetworkTrace afterwards (no --keep).
    expect(await count()).toBe(before);
  });

  it("traces pod → Service without endpoints to kube-proxy's REJECT, as the offline trace does", async () => {
    const a = pod("pod-1-2");
    const t = await runTrace(f.cp, "svc-empty", {
      source: { pod: a.name },
      destination: { service: f.services.empty.model.name },
      protocol: "tcp",
      port: SERVICE_PORT,
    });
    const want = await offline({
      protocol: "tcp",
      src: a.ip,
      dst: f.services.empty.clusterIP,
      sport: 40000,
      dport: SERVICE_PORT,
    });
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(comparable(resultOf(t))).toEqual(comparable(want));
    expect(t.status?.verdict).toBe("Rejected");
    expect(t.status?.findings?.map((f) => f.code)).toContain("SERVICE_NO_ENDPOINTS");
  });

  it("stops at an injected fault (the destination's veth down) as the offline trace does", async () => {
    const a = f.lab.pods[0];
    const b = f.lab.pods.find((p) => p.node !== a?.node);
    if (!a || !b) throw new Error("no cross-node pair");
    await f.lab.setLinkDown(b.nodeNetns, b.hostVeth);
    await afterStateTtl();
    try {
      const t = await runTrace(f.cp, "fault-link-down", {
        source: { pod: a.name },
        destination: { pod: b.name },
        protocol: "icmp",
      });
      const want = await offline({ protocol: "icmp", src: a.ip, dst: b.ip });
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(comparable(resultOf(t))).toEqual(comparable(want));
      expect(t.status?.verdict).not.toBe("Delivered");
    } finally {
      await f.lab.setLinkUp(b.nodeNetns, b.hostVeth);
    }
  });

  it("finds the reply-direction failure of a Service whose endpoint shares the client's bridge with br_netfilter off, as the offline trace does", async () => {
    const client = pod("pod-1-2");
    const node = f.lab.nodes[0];
    if (!node?.bridgeNfCallIptables) throw new Error("this kernel has no bridge-nf-call-iptables in a netns");
    await f.lab.setSysctl(node.netns, "net.bridge.bridge-nf-call-iptables", "0");
    try {
      await afterStateTtl();
      // Endpoint 0 of web is pod-1-1, on the client's own bridge.
      const t = await runTrace(f.cp, "reply-br-netfilter-off", {
        source: { pod: client.name },
        destination: { service: f.services.web.model.name },
        protocol: "tcp",
        port: SERVICE_PORT,
        endpoint: 0,
      });
      const want = await offline(
        { protocol: "tcp", src: client.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
        0,
      );
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(comparable(resultOf(t))).toEqual(comparable(want));
      expect(t.status?.verdict).not.toBe("Delivered");
      expect(t.status?.stoppedIn).toBe("reply");
      expect(t.status?.findings?.map((x) => x.code)).toContain("BR_NETFILTER_OFF");
      expect(t.status?.nodes?.some((n) => n.direction === "reply")).toBe(true);
    } finally {
      await f.lab.setSysctl(node.netns, "net.bridge.bridge-nf-call-iptables", "1");
    }
  });

  it("fails a trace whose node does not answer within its timeout, naming the node", async () => {
    const b = f.lab.pods.find((p) => p.node === f.lab.nodes[2]?.name);
    const a = f.lab.pods[0];
    if (!a || !b) throw new Error("no pod on node 3");
    const probe = f.probes.get(b.node);
    await probe?.stop();
    try {
      const t0 = Date.now();
      const t = await runTrace(f.cp, "no-probe", {
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
      const events = await f.cp.kubectl([
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
      await f.restartProbe(b.node);
    }
  });

  it("refuses an unknown pod with a close name, and invalid objects with the CEL rule's message", async () => {
    const t = await runTrace(f.cp, "typo", {
      source: { pod: "pod-1-l" },
      destination: { pod: "pod-2-1" },
      protocol: "tcp",
      port: 8080,
    });
    expect(t.status?.phase).toBe("Failed");
    expect(t.status?.message).toMatch(/source pod netmap-lab\/pod-1-l not found; did you mean pod-1-1/);
    const bad = async (spec: unknown): Promise<string> => {
      try {
        await f.cp.kubectl(["create", "-f", "-"], {
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
    const out = await f.cp.kubectl(["get", "ntrace", "-n", LAB_NAMESPACE]);
    const header = out.split("\n")[0] ?? "";
    expect(header.split(/\s+/)).toEqual(["NAME", "SOURCE", "DESTINATION", "PHASE", "VERDICT", "HOPS", "AGE"]);
    expect(out).toMatch(/cross-node\s+netmap-lab\/pod-1-1 \(10\.244\.1\.\d+ on node-1\)/);
    console.log(`[online] kubectl get ntrace:\n${out}`);
  });

  it("deletes a finished trace and its segments after its time-to-live", async () => {
    const [a, b] = [f.lab.pods[0], f.lab.pods[1]];
    if (!a || !b) throw new Error("no pods");
    const t = await runTrace(f.cp, "short-lived", {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "icmp",
      ttlSecondsAfterFinished: 1,
    });
    expect(t.status?.phase).toBe("Succeeded");
    const deadline = Date.now() + 15_000;
    for (;;) {
      const left = await f.cp.kubectl([
        "get",
        "ntrace,ntseg",
        "-n",
        LAB_NAMESPACE,
        "-l",
        `netmap.io/trace-uid=${t.metadata.uid}`,
        "-o",
        "name",
      ]);
      const trace = await f.cp.kubectl([
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
        (await f.cp.kubectl([
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
      await f.cp.kubectl(["get", "configmap", "netmap-probe", "-n", OPERATOR_NAMESPACE, "-o", "json"]),
    ) as {
      data: Record<string, string>;
    };
    const changed = (cm.data["probe.yaml"] ?? "").replace("logLevel: info", "logLevel: debug");
    await apply(f.cp, [
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
    await f.cp.kubectl(["delete", "configmap", "netmap-probe", "-n", OPERATOR_NAMESPACE]);
    await until(get, (d) => d === null);
  });

  it("serves its metrics: traces by verdict, durations, per-node answer latency", async () => {
    const m = /"msg":"serving \/metrics, \/healthz, \/readyz".*"port":(\d+)/.exec(
      readFileSync(f.operator.log, "utf8"),
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

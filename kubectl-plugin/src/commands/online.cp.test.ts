/**
 * The online form against a real kube-apiserver + etcd (e2e/control-plane): real kubeconfigs
 * (client certificates, ServiceAccount tokens, an exec credential plugin, merged KUBECONFIG files),
 * the real CRD with its CEL rules, real RBAC, real watches (and an API server restart under one).
 *
 * No operator runs here: where a trace needs a status, the test writes it through the real status
 * subresource as the operator would (the TraceResult it writes is a real engine result from the lab
 * snapshots in src/testdata/traces). The real operator and probes are in e2e/operator.
 */
import { spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import type { NetworkTrace, NetworkTraceStatus } from "@netmap/api";
import type { TraceResult } from "@netmap/core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { JsonSchema } from "../../../e2e/control-plane/crd.js";
import {
  type ControlPlane,
  minimalObject,
  minimalValue,
  readCrds,
  startControlPlane,
} from "../../../e2e/control-plane/index.js";
import { main } from "../main.js";
import { renderJson } from "../render/data.js";
import { renderText } from "../render/text.js";
import { argv, captureIo } from "../test/io.js";
import { loadTrace } from "../testdata/traces/index.js";

const NS = "shop";
const CRD = new URL("../../../crds/netmap.io_networktraces.yaml", import.meta.url).pathname;
const SEGMENT_CRD = new URL("../../../crds/netmap.io_networktracesegments.yaml", import.meta.url).pathname;
const BIN = new URL("../../bin/kubectl-netmap.js", import.meta.url).pathname;
let cp: ControlPlane;

beforeAll(async () => {
  const t = inject("netmapTools");
  cp = await startControlPlane({
    tools: { kubeApiserver: t["kube-apiserver"] ?? "", kubectl: t.kubectl ?? "", etcd: t.etcd ?? "" },
  });
  const pod = (name: string, node: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      nodeName: node,
      automountServiceAccountToken: false,
      containers: [{ name: "app", image: "app.invalid/app:1" }],
    },
  });
  await cp.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
        // No controller-manager runs: the ServiceAccount admission needs the namespace's default.
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: NS } },
        { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } },
        { apiVersion: "v1", kind: "Node", metadata: { name: "node-2" } },
        pod("pod-a", "node-1"),
        pod("pod-b", "node-2"),
        pod("cart-7d9f", "node-2"),
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "web", namespace: NS },
          spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "multi", namespace: NS },
          spec: {
            ports: [
              { name: "http", port: 80 },
              { name: "https", port: 443 },
            ],
          },
        },
      ],
    }),
  });
  await cp.kubectl([
    "patch",
    "node",
    "node-2",
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { addresses: [{ type: "InternalIP", address: "172.31.0.2" }] } }),
  ]);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
});

/** Runs kubectl-netmap in-process, as the admin unless another kubeconfig is given. */
async function netmap(args: string[], opts: { kubeconfig?: string; env?: NodeJS.ProcessEnv } = {}) {
  const c = captureIo("", opts.env ?? {});
  const t0 = Date.now();
  const code = await main(
    argv(...(opts.env?.KUBECONFIG ? [] : ["--kubeconfig", opts.kubeconfig ?? cp.kubeconfigPath]), ...args),
    c.io,
  );
  return { code, out: c.out(), err: c.err(), ms: Date.now() - t0 };
}

async function traces(): Promise<NetworkTrace[]> {
  const list = JSON.parse(await cp.kubectl(["get", "ntrace", "-n", NS, "-o", "json"])) as {
    items: NetworkTrace[];
  };
  return list.items;
}

/** The test's side of the operator: waits for kubectl-netmap's NetworkTrace to appear. */
async function created(): Promise<NetworkTrace> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = (await traces()).find((x) => !x.status?.phase);
    if (t) return t;
    if (Date.now() > deadline) throw new Error("kubectl netmap created no NetworkTrace");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes status through the status subresource, as the operator does. */
async function writeStatus(name: string, status: NetworkTraceStatus): Promise<void> {
  await cp.kubectl([
    "patch",
    "networktrace",
    name,
    "-n",
    NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);
}

const now = () => new Date().toISOString();

/** Waits until `events` (progress lines) holds `line`. */
async function progressed(events: readonly string[], line: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!events.includes(line)) {
    if (Date.now() > deadline) throw new Error(`no progress line "${line}" in:\n${events.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The status the operator writes for a finished trace: the result and its bookkeeping. */
function succeeded(result: TraceResult): NetworkTraceStatus {
  return {
    ...result,
    phase: "Succeeded",
    message: `${result.verdict}: ${result.reason}`,
    observedGeneration: 1,
    startTime: now(),
    completionTime: now(),
    hopCount: result.hops.length,
    nodes: [
      {
        step: 0,
        node: "node-1",
        direction: "request",
        segment: "x-0",
        state: "Done",
        hops: result.hops.length,
      },
    ],
  };
}

async function installCrd(): Promise<void> {
  await cp.kubectl(["apply", "-f", CRD]);
  await cp.kubectl(["wait", "--for=condition=Established", "crd/networktraces.netmap.io"]);
}

describe("kubectl netmap without the NetworkTrace CRD", () => {
  it("says the API is not installed and how to install it (exit 2)", async () => {
    const r = await netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `error: the NetworkTrace API (networktraces.netmap.io/v1alpha1) is not installed in this cluster: the API server at ${cp.url} answers 404 for it\n` +
        "hint: install netmap (the CRDs, the operator and its probes): helm install netmap charts/netmap -n netmap --create-namespace; `kubectl --context netmap-admin@netmap-local get crd networktraces.netmap.io` shows whether it is there\n",
    );
    const g = await netmap(["get", "-n", NS, "anything"]);
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/the NetworkTrace API .* is not installed/);
  });
});

describe("kubectl netmap with the CRD and no operator", () => {
  beforeAll(installCrd, 60_000);
  afterEach(async () => {
    await cp.kubectl(["delete", "ntrace", "--all", "-n", NS, "--wait=false"]);
  });

  it("finds no pod by a misspelt name and offers the close ones, creating nothing (exit 1)", async () => {
    const r = await netmap(["-n", NS, "pod-aa", "pod-b", "--port", "8080"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'error: source pod "pod-aa" not found in namespace shop\nhint: did you mean pod-a, pod-b?\n',
    );
    const d = await netmap(["-n", NS, "pod-a", "kart-7d9f", "--port", "8080"]);
    expect(d.err).toMatch(
      /destination pod "kart-7d9f" not found in namespace shop\nhint: did you mean cart-7d9f\?/,
    );
    const s = await netmap(["-n", NS, "pod-a", "svc/wbe"]);
    expect(s.err).toMatch(/Service "wbe" not found in namespace shop\nhint: did you mean web\?/);
    const m = await netmap(["-n", NS, "pod-a", "svc/multi"]);
    expect(m.err).toMatch(
      /has several TCP ports: pass --port\nhint: its ports: 80\/TCP \(http\), 443\/TCP \(https\)/,
    );
    const n = await netmap(["node/node-3", "pod-b", "-n", NS, "--protocol", "icmp"]);
    expect(n.err).toMatch(/source node "node-3" not found\nhint: did you mean node-1, node-2\?/);
    const empty = await netmap(["-n", "nowhere", "pod-a", "pod-b", "--port", "1"]);
    expect(empty.err).toMatch(/source pod "pod-a" not found in namespace nowhere\nhint: there are none/);
    expect(await traces()).toEqual([]);
  });

  it("says no operator picked the trace up once the grace period is over, and deletes it (exit 2)", async () => {
    const r = await netmap(["-n", NS, "pod-a", "svc/web", "-o", "json"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /^error: NetworkTrace shop\/pod-a-to-svc-web-\w{5} is still Pending after 10s: no netmap operator picked it up\nhint: is the operator running\? kubectl get pods -A -l app.kubernetes.io\/name=netmap,app.kubernetes.io\/component=operator; its log: kubectl logs -n netmap deploy\/netmap-operator/,
    );
    expect(r.ms).toBeGreaterThanOrEqual(10_000);
    // At the grace period (10 s), far from the deadline (60 s + 15 s), even on a busy machine.
    expect(r.ms).toBeLessThan(30_000);
    expect((await traces()).filter((t) => !t.metadata.deletionTimestamp)).toEqual([]);
  }, 45_000);

  it("creates the spec the CRD validates: the Service port it has, a node's address, the namespace of the source", async () => {
    const run = netmap(["-n", NS, "pod-a", "svc/web", "--keep", "--endpoint", "1", "--timeout", "45s"]);
    const t = await created();
    expect(t.metadata.namespace).toBe(NS);
    expect(t.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "kubectl-netmap" });
    expect(t.spec).toEqual({
      source: { pod: "pod-a" },
      destination: { service: "web" },
      protocol: "tcp",
      port: 80,
      endpoint: 1,
      timeoutSeconds: 45,
      ttlSecondsAfterFinished: 3600,
    });
    await writeStatus(t.metadata.name ?? "", succeeded(loadTrace("service-clusterip-iptables")));
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.err).toBe(
      `kept NetworkTrace shop/${t.metadata.name}: kubectl netmap get ${t.metadata.name} -n shop\n`,
    );

    const node = netmap(["node/node-1", "node/node-2", "-n", NS, "--protocol", "icmp"]);
    const n = await created();
    expect(n.spec).toMatchObject({ source: { node: "node-1" }, destination: { ip: "172.31.0.2" } });
    expect(n.spec.ttlSecondsAfterFinished).toBe(600);
    await writeStatus(n.metadata.name ?? "", succeeded(loadTrace("same-node-icmp")));
    expect((await node).code).toBe(0);
  }, 60_000);

  it("follows the trace by a watch and renders the finished status as the offline form renders the result", async () => {
    const result = loadTrace("cross-node-tcp");
    const run = netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080", "-o", "json"]);
    const t = await created();
    const name = t.metadata.name ?? "";
    await writeStatus(name, {
      phase: "Running",
      message: "waiting for node node-1 (step 0, request)",
      observedGeneration: 1,
      startTime: now(),
      nodes: [{ step: 0, node: "node-1", direction: "request", segment: `${name}-0`, state: "Waiting" }],
    });
    await new Promise((r) => setTimeout(r, 300));
    await writeStatus(name, succeeded(result));
    const r = await run;
    expect(r.code).toBe(0);
    // The same document; its keys in the API server's (sorted) order, not the engine's.
    expect(JSON.parse(r.out)).toEqual(JSON.parse(renderJson(result)));
    expect(r.err).toBe("");
    // deleted afterwards, as no --keep was given
    expect((await traces()).filter((x) => x.metadata.name === name && !x.metadata.deletionTimestamp)).toEqual(
      [],
    );
  }, 30_000);

  it("exits with the verdict's code: Dropped 3, Rejected 4, Unknown 5 (text output as offline)", async () => {
    for (const [name, code] of [
      ["no-route-dropped", 3],
      ["service-no-endpoints-iptables", 4],
      ["missing-node-unknown", 5],
    ] as const) {
      const result = loadTrace(name);
      const run = netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080", "-o", "text"]);
      const t = await created();
      await writeStatus(t.metadata.name ?? "", succeeded(result));
      const r = await run;
      expect(r.code, name).toBe(code);
      expect(r.out).toBe(renderText(result, { width: 80, verbose: false }));
      expect(r.err).toBe("");
    }
  }, 60_000);

  it("fails with the operator's message when the trace Failed, naming the node that did not answer (exit 2)", async () => {
    const run = netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080"]);
    const t = await created();
    const message =
      "node node-2 did not answer step 1 (request) within the trace's 60s: is the netmap probe running on node-2? (kubectl get pods -A -l app.kubernetes.io/component=probe --field-selector spec.nodeName=node-2)";
    await writeStatus(t.metadata.name ?? "", {
      phase: "Failed",
      message,
      observedGeneration: 1,
      completionTime: now(),
      conditions: [
        { type: "Completed", status: "True", lastTransitionTime: now(), reason: "NodeDidNotAnswer", message },
      ],
    });
    const r = await run;
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `error: ${message}\nhint: kubectl describe networktrace ${t.metadata.name} -n shop shows its conditions and events\n`,
    );
  }, 30_000);

  it("names the node still waiting when no result comes long after the trace's timeout (exit 2)", async () => {
    const run = netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080", "--timeout", "1s"]);
    const t = await created();
    const name = t.metadata.name ?? "";
    await writeStatus(name, {
      phase: "Running",
      observedGeneration: 1,
      startTime: now(),
      nodes: [
        { step: 0, node: "node-1", direction: "request", segment: `${name}-0`, state: "Done", hops: 12 },
        { step: 1, node: "node-2", direction: "request", segment: `${name}-1`, state: "Waiting" },
      ],
    });
    const r = await run;
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(
        `^error: NetworkTrace shop/${name} has no result after 1[67]s: node node-2 has not answered step 1 \\(request\\)\\nhint: is the netmap probe running on node-2\\?`,
      ),
    );
  }, 40_000);

  it("keeps following across an API server restart (the watch resumes from its resourceVersion)", async () => {
    const { Cluster } = await import("../kube/cluster.js");
    const { createTrace } = await import("../kube/traces.js");
    const { NetworkTraceSource } = await import("../source/networktrace.js");
    const cluster = await Cluster.connect(
      { kubeconfig: cp.kubeconfigPath, allNamespaces: false, namespace: NS },
      { env: {}, stdinIsTerminal: false },
    );
    try {
      const trace = await createTrace(cluster, {
        namespace: NS,
        generateName: "restart-",
        spec: { source: { pod: "pod-a" }, destination: { pod: "pod-b" }, protocol: "icmp" },
      });
      const name = trace.metadata.name ?? "";
      const source = new NetworkTraceSource({ cluster, trace, timeoutSeconds: 120, graceMs: 120_000 });
      const events: string[] = [];
      const result = source.run((e) => events.push(`${e.node ?? "-"}: ${e.message}`));
      await writeStatus(name, {
        phase: "Running",
        observedGeneration: 1,
        nodes: [{ step: 0, node: "node-1", direction: "request", segment: `${name}-0`, state: "Waiting" }],
      });
      await progressed(events, "node-1: step 0 (request): waiting for its probe");
      await cp.restartApiServer();
      await writeStatus(name, {
        phase: "Running",
        observedGeneration: 1,
        nodes: [
          { step: 0, node: "node-1", direction: "request", segment: `${name}-0`, state: "Done", hops: 18 },
          { step: 1, node: "node-1", direction: "reply", segment: `${name}-1`, state: "Waiting" },
        ],
      });
      // Seen through the watch resumed on the new API server.
      await progressed(
        events,
        "node-1: step 1 (reply): waiting for its probe · done: node-1 request 18 hops",
      );
      const want = loadTrace("same-node-icmp");
      await writeStatus(name, succeeded(want));
      expect(await result).toEqual(want);
      expect(source.stats.watches).toBeGreaterThanOrEqual(2);
      expect(source.stats.reconnects + source.stats.relists).toBeGreaterThanOrEqual(1);
      // One relist when the new API server has forgotten the old version, not one per watch.
      expect(source.stats.relists).toBeLessThanOrEqual(2);
      console.log(
        `[plugin] across a restart: ${JSON.stringify(source.stats)}; progress: ${events.join(" | ")}`,
      );
    } finally {
      cluster.close();
    }
  }, 120_000);

  it("shows each node's progress from the NetworkTraceSegments as their probes answer", async () => {
    await cp.kubectl(["apply", "-f", SEGMENT_CRD]);
    await cp.kubectl(["wait", "--for=condition=Established", "crd/networktracesegments.netmap.io"]);
    const segmentCrd = readCrds(SEGMENT_CRD)[0];
    if (!segmentCrd) throw new Error("no segment CRD");
    const statusSchema = segmentCrd.versions[0]?.schema.properties?.status as JsonSchema;
    const { Cluster } = await import("../kube/cluster.js");
    const { createTrace } = await import("../kube/traces.js");
    const { NetworkTraceSource } = await import("../source/networktrace.js");
    const cluster = await Cluster.connect(
      { kubeconfig: cp.kubeconfigPath, allNamespaces: false, namespace: NS },
      { env: {}, stdinIsTerminal: false },
    );
    try {
      const trace = await createTrace(cluster, {
        namespace: NS,
        generateName: "segments-",
        spec: { source: { pod: "pod-a" }, destination: { pod: "pod-b" }, protocol: "icmp" },
      });
      const name = trace.metadata.name ?? "";
      const source = new NetworkTraceSource({ cluster, trace, timeoutSeconds: 60 });
      const events: string[] = [];
      const result = source.run((e) => events.push(`${e.node ?? "-"}: ${e.message}`));
      // As the operator: Running, and the first node's segment.
      await writeStatus(name, {
        phase: "Running",
        observedGeneration: 1,
        nodes: [{ step: 0, node: "node-1", direction: "request", segment: `${name}-0`, state: "Waiting" }],
      });
      const segment = (step: number, node: string) => {
        const o = minimalObject(segmentCrd, `${name}-${step}`, NS) as {
          metadata: Record<string, unknown>;
          spec: { nodeName: string; trace: unknown; task: { step: number; node: string; direction: string } };
        };
        o.metadata.labels = { "netmap.io/trace-uid": trace.metadata.uid, "netmap.io/step": String(step) };
        o.spec.nodeName = node;
        o.spec.trace = { name, uid: trace.metadata.uid };
        Object.assign(o.spec.task, {
          step,
          node,
          direction: "request",
          arrival: { kind: "local", packet: { protocol: "icmp", src: "10.244.1.2", dst: "10.244.2.2" } },
        });
        return cp.kubectl(["create", "-f", "-"], { input: JSON.stringify(o) });
      };
      await segment(0, "node-1");
      await progressed(events, "node-1: step 0 (request): waiting for its probe");
      // As node-1's probe: its segment's status, Succeeded.
      await cp.kubectl([
        "patch",
        "networktracesegment",
        `${name}-0`,
        "-n",
        NS,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            phase: "Succeeded",
            result: {
              ...(minimalValue(statusSchema.properties?.result ?? {}) as object),
              node: "node-1",
              arrival: { kind: "local", packet: { protocol: "icmp", src: "10.244.1.2", dst: "10.244.2.2" } },
              end: { kind: "verdict", verdict: "Dropped", reason: "a probe's answer, as the test writes it" },
            },
          },
        }),
      ]);
      await segment(1, "node-2");
      await progressed(
        events,
        "node-2: step 1 (request): waiting for its probe · done: node-1 request 0 hops",
      );
      await writeStatus(name, succeeded(loadTrace("same-node-icmp")));
      expect((await result).verdict).toBe("Delivered");
      console.log(`[plugin] progress from segments: ${events.join(" | ")}`);
    } finally {
      cluster.close();
    }
  }, 60_000);

  it("says the API server was lost, not that no operator answered, when the connection drops", async () => {
    // A TCP relay to the API server, closed while the plugin waits: a network that goes away.
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = connect(Number(new URL(cp.url).port), "127.0.0.1");
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => s.destroy());
        s.on("close", () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const port = (relay.address() as AddressInfo).port;
    const admin = JSON.parse(readFileSync(cp.kubeconfigPath, "utf8")) as {
      clusters: Array<{ cluster: { server: string } }>;
    };
    for (const c of admin.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
    const kubeconfig = join(cp.dir, "relay.kubeconfig");
    writeFileSync(kubeconfig, JSON.stringify(admin));
    const run = netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080"], { kubeconfig });
    await created();
    relay.close();
    for (const s of sockets) s.destroy();
    const r = await run;
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `warning: could not delete NetworkTrace shop/${(await traces())[0]?.metadata.name} (cannot reach the API server at https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}); the operator deletes it 600s after it finishes\n` +
        `error: cannot reach the API server at https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n` +
        "hint: is the cluster up, and is context netmap-admin@netmap-local the right one? `kubectl --context netmap-admin@netmap-local get --raw /readyz`, `kubectl config current-context`\n",
    );
    // At the grace period (10 s), far from the deadline (60 s + 15 s), even on a busy machine.
    expect(r.ms).toBeLessThan(30_000);
  }, 45_000);

  it("renders an existing trace with get, and offers close names for a misspelt one", async () => {
    await cp.kubectl(["create", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "netmap.io/v1alpha1",
        kind: "NetworkTrace",
        metadata: { name: "kept-trace", namespace: NS },
        spec: { source: { pod: "pod-a" }, destination: { service: "web" }, port: 80 },
      }),
    });
    const result = loadTrace("service-sticky-iptables");
    await writeStatus("kept-trace", succeeded(result));
    const r = await netmap(["get", "kept-trace", "-n", NS, "-o", "text", "-v"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(renderText(result, { width: 80, verbose: true }));
    expect((await netmap(["get", "ntrace/kept-trace", "-n", NS, "-o", "yaml"])).code).toBe(0);
    const typo = await netmap(["get", "kept-trcae", "-n", NS]);
    expect(typo.code).toBe(1);
    expect(typo.err).toBe(
      'error: NetworkTrace "kept-trcae" not found in namespace shop\nhint: did you mean kept-trace?\n',
    );
  }, 30_000);
});

describe("kubectl netmap as users the API server knows", () => {
  afterEach(async () => {
    await cp.kubectl(["delete", "ntrace", "--all", "-n", NS, "--wait=false"]);
  });

  it("says which verb on which resource RBAC refuses, and how to check it (exit 2)", async () => {
    const alice = await cp.kubeconfigForUser("alice");
    const r = await netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080"], { kubeconfig: alice });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'error: you may not create networktraces.netmap.io in namespace shop: networktraces.netmap.io is forbidden: User "alice" cannot create resource "networktraces" in API group "netmap.io" in the namespace "shop"\n' +
        "hint: check with `kubectl --context alice@netmap-local auth can-i create networktraces.netmap.io -n shop`; kubectl netmap needs create, get, watch and delete on networktraces.netmap.io in the trace's namespace (and list, watch on networktracesegments.netmap.io for per-node progress, get, list on pods and services to check names): ask a cluster admin for a Role that grants them\n",
    );
    // A role with create and delete but not watch: refused at the watch, and the trace is deleted.
    await cp.kubectl([
      "create",
      "role",
      "bob-traces",
      "-n",
      NS,
      "--verb=create,delete",
      "--resource=networktraces.netmap.io",
    ]);
    await cp.kubectl(["create", "rolebinding", "bob-traces", "-n", NS, "--role=bob-traces", "--user=bob"]);
    const bob = await cp.kubeconfigForUser("bob");
    const b = await netmap(["-n", NS, "pod-a", "pod-b", "--port", "8080"], { kubeconfig: bob });
    expect(b.code).toBe(2);
    expect(b.err).toMatch(
      /^error: you may not watch networktraces\.netmap\.io pod-a-to-pod-b-\w{5} in namespace shop: /,
    );
    expect(b.err).toContain("auth can-i watch networktraces.netmap.io -n shop");
    expect((await traces()).filter((t) => !t.metadata.deletionTimestamp)).toEqual([]);
  });

  it("authenticates with a ServiceAccount token from an exec credential plugin, refreshed after a 401", async () => {
    await cp.kubectl(["create", "serviceaccount", "tracer", "-n", NS]);
    await cp.kubectl([
      "create",
      "role",
      "tracer",
      "-n",
      NS,
      "--verb=get,list,watch,create,delete",
      "--resource=networktraces.netmap.io,pods,services",
    ]);
    await cp.kubectl([
      "create",
      "rolebinding",
      "tracer",
      "-n",
      NS,
      "--role=tracer",
      `--serviceaccount=${NS}:tracer`,
    ]);
    const token = await cp.createToken({ namespace: NS, serviceAccount: "tracer" });
    const dir = cp.dir;
    writeFileSync(join(dir, "tracer.token"), token);
    // A real plugin: its first answer is a stale token (the API server answers 401), then the real one.
    const plugin = join(dir, "exec-plugin.mjs");
    writeFileSync(
      plugin,
      `#!${process.execPath}
import { existsSync, readFileSync, writeFileSync } from "node:fs";
const calls = ${JSON.stringify(join(dir, "exec-plugin.calls"))};
const n = existsSync(calls) ? Number(readFileSync(calls, "utf8")) + 1 : 1;
writeFileSync(calls, String(n));
const token = n === 1 ? "stale" : readFileSync(${JSON.stringify(join(dir, "tracer.token"))}, "utf8");
console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token } }));
`,
    );
    chmodSync(plugin, 0o755);
    const kubeconfig = join(dir, "exec.kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "tracer",
        clusters: [{ name: "local", cluster: { server: cp.url, "certificate-authority": cp.caFile } }],
        users: [
          {
            name: "tracer",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1",
                command: "./exec-plugin.mjs",
                interactiveMode: "Never",
              },
            },
          },
        ],
        contexts: [{ name: "tracer", context: { cluster: "local", user: "tracer", namespace: NS } }],
      }),
    );
    const run = netmap(["pod-a", "pod-b", "--port", "8080", "-o", "yaml"], { kubeconfig });
    const t = await created();
    await writeStatus(t.metadata.name ?? "", succeeded(loadTrace("cross-node-mtu")));
    const r = await run;
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "exec-plugin.calls"), "utf8")).toBe("2");
  }, 30_000);

  it("merges KUBECONFIG files and takes --context from them; says when the API server cannot be reached", async () => {
    const dir = cp.dir;
    const dead = join(dir, "dead.kubeconfig");
    writeFileSync(
      dead,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "dead",
        clusters: [
          { name: "dead", cluster: { server: "https://127.0.0.1:9", "insecure-skip-tls-verify": true } },
        ],
        users: [{ name: "nobody", user: { token: "x" } }],
        contexts: [{ name: "dead", context: { cluster: "dead", user: "nobody", namespace: NS } }],
      }),
    );
    const env = { KUBECONFIG: `${dead}:${cp.kubeconfigPath}` };
    const r = await netmap(["pod-a", "pod-b", "--port", "8080"], { env });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "error: cannot reach the API server at https://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9\n" +
        "hint: is the cluster up, and is context dead the right one? `kubectl --context dead get --raw /readyz`, `kubectl config current-context`\n",
    );
    const ok = netmap(
      ["--context", "netmap-admin@netmap-local", "-n", NS, "pod-a", "pod-b", "--port", "8080"],
      {
        env,
      },
    );
    const t = await created();
    await writeStatus(t.metadata.name ?? "", succeeded(loadTrace("cross-node-tcp")));
    expect((await ok).code).toBe(0);
    const wrong = await netmap(["--context", "netmap-admin", "pod-a", "pod-b"], { env });
    expect(wrong.err).toMatch(
      /context "netmap-admin" not found in .*dead\.kubeconfig, .*admin\.kubeconfig \(merged\)/,
    );
  }, 30_000);
});

describe("the real kubectl-netmap binary", () => {
  it("runs the online form end to end with a real kubeconfig, its start and RSS measured", async () => {
    const run = new Promise<{ code: number | null; out: string; err: string; rssKb: number; ms: number }>(
      (resolve) => {
        const t0 = Date.now();
        const child = spawn(
          "/usr/bin/time",
          [
            "-f",
            "%M",
            process.execPath,
            BIN,
            "--kubeconfig",
            cp.kubeconfigPath,
            "-n",
            NS,
            "pod-a",
            "pod-b",
            "--port",
            "8080",
            "-o",
            "text",
          ],
          { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on("data", (c: Buffer) => {
          err += c.toString();
        });
        child.on("close", (code) => {
          const lines = err.trim().split("\n");
          const rssKb = Number(lines.pop());
          resolve({ code, out, err: lines.join("\n"), rssKb, ms: Date.now() - t0 });
        });
      },
    );
    const t = await created();
    const createdAt = Date.now();
    const result = loadTrace("cross-node-tcp");
    await writeStatus(t.metadata.name ?? "", succeeded(result));
    const r = await run;
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(renderText(result, { width: 80, verbose: false }));
    console.log(
      `[plugin] real binary, online form: ${r.ms} ms in all (${r.ms - (Date.now() - createdAt)} ms until the trace existed), max RSS ${Math.round(r.rssKb / 1024)} MB`,
    );
  }, 60_000);
});

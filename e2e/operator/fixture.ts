/**
 * One online set-up per test file: a real API server, a kernel lab, the chart's manifests, the
 * lab described to the API server, the operator and one probe per node — and the offline trace of
 * the same lab to compare with. Registers vitest's beforeAll/afterAll (teardown also on failure).
 */
import { mkdtempSync } from "node:fs";
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
import { afterAll, beforeAll, inject } from "vitest";
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "../control-plane/index.js";
import { createLab, type Lab, type LabPod } from "../lab/lab.js";
import { installServices, type LabServices, type ProxyMode } from "../lab/services.js";
import {
  describeLab,
  OPERATOR_NAMESPACE,
  type Proc,
  renderChart,
  startOperator,
  startProbe,
} from "./cluster.js";

export interface OnlineFixture {
  readonly cp: ControlPlane;
  readonly lab: Lab;
  readonly services: LabServices;
  readonly operator: Proc;
  readonly probes: Map<string, Proc>;
  readonly dir: string;
  /** Starts (again) the probe of `node`. */
  restartProbe(node: string): Promise<void>;
  pod(name: string): LabPod;
}

export function onlineFixture(opts: {
  labName: string;
  overlay: "vxlan" | "host-gw";
  mode: ProxyMode;
  /** More for the control plane (e.g. an audit log), beyond the tools. */
  controlPlane?: Omit<ControlPlaneOptions, "tools">;
  /** false: the test starts the operator itself (f.operator stays unset). Default true. */
  operator?: boolean;
}): OnlineFixture {
  const dir = mkdtempSync(join(tmpdir(), `netmap-${opts.labName}-`));
  const procs: Proc[] = [];
  const probes = new Map<string, Proc>();
  const f = {
    dir,
    probes,
    cp: undefined as unknown as ControlPlane,
    lab: undefined as unknown as Lab,
    services: undefined as unknown as LabServices,
    operator: undefined as unknown as Proc,
    async restartProbe(node: string) {
      const p = await startProbe(f.cp, f.lab, node, dir);
      probes.set(node, p);
      procs.push(p);
    },
    pod(name: string): LabPod {
      const p = f.lab.pods.find((x) => x.name === name);
      if (!p) throw new Error(`no lab pod ${name}: ${f.lab.pods.map((x) => x.name).join(", ")}`);
      return p;
    },
  };
  beforeAll(async () => {
    const tools = inject("netmapTools");
    f.cp = await startControlPlane({
      ...opts.controlPlane,
      tools: {
        kubeApiserver: tools["kube-apiserver"] as string,
        kubectl: tools.kubectl as string,
        etcd: tools.etcd as string,
      },
    });
    f.lab = await createLab({ name: opts.labName, nodes: 3, podsPerNode: 2, overlay: opts.overlay });
    f.services = await installServices(f.lab, opts.mode);
    await f.cp.kubectl(["create", "namespace", OPERATOR_NAMESPACE]);
    await f.cp.kubectl(["apply", "--server-side", "-f", "-"], {
      input: await renderChart(tools.helm as string),
    });
    await f.cp.kubectl([
      "wait",
      "--for=condition=Established",
      "crd/networktraces.netmap.io",
      "crd/networktracesegments.netmap.io",
    ]);
    await describeLab(f.cp, f.lab, f.services);
    if (opts.operator !== false) {
      f.operator = await startOperator(f.cp, dir);
      procs.push(f.operator);
    }
    for (const n of f.lab.nodes) await f.restartProbe(n.name);
  }, 240_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await f.lab?.destroy();
    await f.cp?.stop();
  });
  return f;
}

/** The offline trace of the same lab: every node captured whole, as `kubectl netmap snapshot` does. */
export async function offlineTrace(lab: Lab, packet: Packet, endpoint?: number): Promise<TraceResult> {
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

/** Evidence as the rule itself (see ../lab/evidence.ts), for online ↔ offline comparisons. */
export { comparable } from "../lab/evidence.js";

export function resultOf(t: NetworkTrace): TraceResult {
  const r = traceResultOf(t);
  if (!r) throw new Error(`trace ${t.metadata.name} has no result: ${t.status?.phase} ${t.status?.message}`);
  return r;
}

/** A probe reuses one read of its node for 1 s (--state-ttl-ms): after a fault, let older reads expire. */
export const STATE_TTL_MS = 1000;
export const afterStateTtl = () => new Promise((r) => setTimeout(r, STATE_TTL_MS + 100));

/**
 * The online netmap over the kernel lab, on a real API server: the Kubernetes objects that describe
 * the lab (Nodes with their underlay addresses, Pods whose status matches the lab's pods, Services
 * and EndpointSlices matching kube-proxy's rules in the lab), the chart's manifests as `helm
 * template` renders them, and the processes: the operator and one probe per lab node, each
 * authenticating with its own ServiceAccount token (the probes' tokens bound to a Pod on their node),
 * so the RBAC the chart renders is what lets them work.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import type { NetworkTrace } from "@netmap/api";
import { type ControlPlane, execOk } from "../control-plane/index.js";
import { repoRoot } from "../control-plane/tools.js";
import type { Lab } from "../lab/lab.js";
import type { LabServices } from "../lab/services.js";

export const OPERATOR_NAMESPACE = "netmap";
export const LAB_NAMESPACE = "netmap-lab";
const REPO = repoRoot();

/** `helm template` of charts/netmap (CRDs included), as the end-to-end tests apply it. */
export async function renderChart(helm: string): Promise<string> {
  return execOk([
    helm,
    "template",
    "netmap",
    join(REPO, "charts/netmap"),
    "--namespace",
    OPERATOR_NAMESPACE,
    "--include-crds",
    "--kube-version",
    "1.33.13",
  ]);
}

/** Applies a list of objects (JSON) with kubectl. */
export async function apply(cp: ControlPlane, objects: readonly unknown[]): Promise<void> {
  await cp.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
  });
}

/** Node, Pod, Service and EndpointSlice objects for the lab, with their status written as a kubelet would. */
export async function describeLab(cp: ControlPlane, lab: Lab, services?: LabServices): Promise<void> {
  await apply(cp, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: LAB_NAMESPACE } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: LAB_NAMESPACE } },
    ...lab.nodes.map((n) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: n.name, labels: { "kubernetes.io/os": "linux", "kubernetes.io/hostname": n.name } },
      spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
    })),
    ...lab.pods.map((p) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: p.name, namespace: p.namespace, labels: { app: "lab" } },
      spec: {
        nodeName: p.node,
        automountServiceAccountToken: false,
        containers: [{ name: "app", image: "lab.invalid/app:1" }],
      },
    })),
  ]);
  for (const n of lab.nodes) {
    await cp.kubectl(
      [
        "patch",
        "node",
        n.name,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            addresses: [
              { type: "InternalIP", address: n.underlayIp },
              { type: "Hostname", address: n.name },
            ],
            conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "lab node" }],
          },
        }),
      ],
      {},
    );
  }
  for (const p of lab.pods) {
    const hostIP = lab.nodes.find((n) => n.name === p.node)?.underlayIp;
    await cp.kubectl([
      "patch",
      "pod",
      p.name,
      "-n",
      p.namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: {
          phase: "Running",
          podIP: p.ip,
          podIPs: [{ ip: p.ip }],
          hostIP,
          hostIPs: [{ ip: hostIP }],
          conditions: [{ type: "Ready", status: "True" }],
        },
      }),
    ]);
  }
  if (!services) return;
  await apply(
    cp,
    services.all.flatMap((s) => [
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: s.model.name, namespace: s.model.namespace },
        spec: {
          clusterIP: s.clusterIP,
          clusterIPs: [s.clusterIP],
          ports: s.model.ports.map((p) => ({
            name: p.name,
            protocol: p.protocol,
            port: p.port,
            targetPort: p.targetPort,
            ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
          })),
          type: s.model.ports.some((p) => p.nodePort !== undefined) ? "NodePort" : "ClusterIP",
          ...(s.model.sessionAffinity
            ? {
                sessionAffinity: "ClientIP",
                sessionAffinityConfig: {
                  clientIP: { timeoutSeconds: s.model.sessionAffinity.timeoutSeconds },
                },
              }
            : {}),
        },
      },
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: `${s.model.name}-lab`,
          namespace: s.model.namespace,
          labels: { "kubernetes.io/service-name": s.model.name },
        },
        addressType: "IPv4",
        endpoints: s.endpoints.map((p) => ({
          addresses: [p.ip],
          conditions: { ready: true },
          nodeName: p.node,
          targetRef: { kind: "Pod", name: p.name, namespace: p.namespace },
        })),
        ports: s.model.ports.map((p) => ({ name: p.name, port: Number(p.targetPort), protocol: p.protocol })),
      },
    ]),
  );
}

export interface Proc {
  child: ChildProcess;
  log: string;
  stop(): Promise<void>;
}

/** Starts `node <args>` with its stderr and stdout in `log` (`env`: variables over this process's). */
export function startNode(args: readonly string[], log: string, env?: Record<string, string>): Proc {
  const out = createWriteStream(log);
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return {
    child,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** The operator's command line (after `node`) as the tests run it: debug logs, metrics on a free port. */
export function operatorArgs(kubeconfig: string): string[] {
  return [
    "operator/controller/dist/main.js",
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    OPERATOR_NAMESPACE,
    "--metrics-addr",
    "127.0.0.1:0",
    "--log-level",
    "debug",
  ];
}

/** The operator process, authenticated as the chart's netmap-operator ServiceAccount. */
export async function startOperator(cp: ControlPlane, dir: string): Promise<Proc> {
  const token = await cp.createToken({ namespace: OPERATOR_NAMESPACE, serviceAccount: "netmap-operator" });
  const kubeconfig = await cp.kubeconfigForToken(token, "netmap-operator");
  return startNode(operatorArgs(kubeconfig), join(dir, "operator.log"));
}

/**
 * One probe process for lab node `node`: a Pod on that node carries the probe's identity (its
 * token, bound to the Pod, names the node), as a DaemonSet pod's would.
 */
export async function startProbe(
  cp: ControlPlane,
  lab: Lab,
  node: string,
  dir: string,
  env?: Record<string, string>,
): Promise<Proc> {
  const n = lab.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no lab node ${node}`);
  const pod = `netmap-probe-${node}`;
  await apply(cp, [
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: pod,
        namespace: OPERATOR_NAMESPACE,
        labels: { "app.kubernetes.io/component": "probe" },
      },
      spec: {
        nodeName: node,
        serviceAccountName: "netmap-probe",
        hostNetwork: true,
        containers: [{ name: "probe", image: "netmap:0.1.0" }],
      },
    },
  ]);
  const token = await cp.createToken({
    namespace: OPERATOR_NAMESPACE,
    serviceAccount: "netmap-probe",
    boundPod: { namespace: OPERATOR_NAMESPACE, name: pod },
  });
  const kubeconfig = await cp.kubeconfigForToken(token, `probe-${node}`);
  return startNode(
    [
      "--max-semi-space-size=2",
      "operator/probe/dist/agent/main.js",
      "--node",
      node,
      "--host-netns",
      `/var/run/netns/${n.netns}`,
      "--kubeconfig",
      kubeconfig,
      "--identity",
      pod,
    ],
    join(dir, `probe-${node}.log`),
    env,
  );
}

/** Creates a NetworkTrace and waits until it is Succeeded or Failed (reads, 100 ms apart). */
export async function runTrace(
  cp: ControlPlane,
  name: string,
  spec: NetworkTrace["spec"],
  timeoutMs = 60_000,
): Promise<NetworkTrace> {
  await cp.kubectl(["create", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "netmap.io/v1alpha1",
      kind: "NetworkTrace",
      metadata: { name, namespace: LAB_NAMESPACE },
      spec,
    }),
  });
  return waitFinished(cp, name, timeoutMs);
}

export async function waitFinished(
  cp: ControlPlane,
  name: string,
  timeoutMs = 60_000,
): Promise<NetworkTrace> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = JSON.parse(
      await cp.kubectl(["get", "networktrace", name, "-n", LAB_NAMESPACE, "-o", "json"]),
    ) as NetworkTrace;
    if (t.status?.phase === "Succeeded" || t.status?.phase === "Failed") return t;
    if (Date.now() > deadline)
      throw new Error(
        `trace ${name} still ${t.status?.phase ?? "without phase"} after ${timeoutMs} ms: ${t.status?.message}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `sudo npm run demo -- --online`: netmap as it runs in a cluster, with no cluster. Starts a real
 * kube-apiserver and etcd (built from their Go modules, cached), a 3-node kernel lab with
 * kube-proxy's iptables rules for a few Services, applies the chart (`helm template`), starts the
 * operator and one probe per lab node (each with its own ServiceAccount token), describes the lab
 * to the API server (Nodes, Pods, Services, EndpointSlices), and runs `kubectl netmap pod-1-2
 * svc/web --port 80` online (the TUI in a terminal, text when piped). Everything is torn down
 * afterwards.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTools, startControlPlane } from "../control-plane/index.js";
import { repoRoot } from "../control-plane/tools.js";
import { createLab } from "../lab/lab.js";
import { installServices, SERVICE_PORT } from "../lab/services.js";
import { log } from "../lab/snapshot.js";
import {
  describeLab,
  OPERATOR_NAMESPACE,
  type Proc,
  renderChart,
  startOperator,
  startProbe,
} from "./cluster.js";

const CLI = join(repoRoot(), "kubectl-plugin/bin/kubectl-netmap.js");
const INFRA = join(repoRoot(), "e2e/infra/install-deps.sh");
const LAB_DEPS = join(repoRoot(), "e2e/lab/install-deps.sh");

export interface OnlineDemoOptions {
  output?: string;
  quiet: boolean;
}

export async function onlineDemo(opts: OnlineDemoOptions): Promise<number> {
  for (const script of [LAB_DEPS, INFRA]) {
    if (spawnSync("bash", [script], { stdio: "inherit" }).status !== 0) return 1;
  }
  const progress = opts.quiet ? () => {} : log;
  progress("building or finding kube-apiserver, kubectl, etcd and helm (cold: ~10 min, then cached)");
  const tools = await ensureTools(["kube-apiserver", "kubectl", "etcd", "helm"]);
  const dir = mkdtempSync(join(tmpdir(), "netmap-demo-online-"));
  const cp = await startControlPlane({
    tools: {
      kubeApiserver: tools["kube-apiserver"] as string,
      kubectl: tools.kubectl as string,
      etcd: tools.etcd as string,
    },
  });
  progress("API server ready", { url: cp.url, kubeconfig: cp.kubeconfigPath });
  const lab = await createLab({ name: "demoonline", nodes: 3, podsPerNode: 2, overlay: "vxlan" });
  const procs: Proc[] = [];
  try {
    const services = await installServices(lab, "iptables");
    progress("lab built", { pods: lab.pods.map((p) => `${p.name} ${p.ip} on ${p.node}`) });
    await cp.kubectl(["create", "namespace", OPERATOR_NAMESPACE]);
    await cp.kubectl(["apply", "--server-side", "-f", "-"], {
      input: await renderChart(tools.helm as string),
    });
    await cp.kubectl(["wait", "--for=condition=Established", "crd/networktraces.netmap.io"]);
    await describeLab(cp, lab, services);
    procs.push(await startOperator(cp, dir));
    for (const n of lab.nodes) procs.push(await startProbe(cp, lab, n.name, dir));
    progress("operator and probes running", { logs: dir });
    const src = lab.pods.find((p) => p.name === "pod-1-2") ?? lab.pods[0];
    if (!src) return 1;
    // The real plugin, online: it creates the NetworkTrace, follows it, renders it (the TUI in a
    // terminal, text when piped); --keep leaves the object for `kubectl get ntrace`.
    const args = [
      src.name,
      `svc/${services.web.model.name}`,
      "--port",
      String(SERVICE_PORT),
      "--endpoint",
      "1",
      "-n",
      src.namespace,
      "--kubeconfig",
      cp.kubeconfigPath,
      "--keep",
      ...(opts.output ? ["-o", opts.output] : []),
    ];
    process.stderr.write(
      `\n$ kubectl netmap ${args
        .filter((a) => a !== cp.kubeconfigPath)
        .join(" ")
        .replace("--kubeconfig ", "")}\n`,
    );
    const r = spawnSync(process.execPath, [CLI, ...args], { stdio: "inherit" });
    process.stdout.write(
      `\n$ kubectl get ntrace -n ${src.namespace}\n${await cp.kubectl(["get", "ntrace", "-n", src.namespace])}`,
    );
    return r.status ?? 1;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await lab.destroy();
    await cp.stop();
    progress("control plane, lab, operator and probes stopped");
  }
}

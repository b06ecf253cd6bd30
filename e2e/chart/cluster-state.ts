/**
 * What a real API server holds, for "nothing left behind" checks: every object of every listable
 * resource type (Events aside: they expire by themselves), and a kube-controller-manager with the
 * controllers a release's objects depend on (garbage collector, Deployment, ReplicaSet, DaemonSet,
 * ClusterRole aggregation), so owner references and DaemonSets act as they do in a cluster.
 */
import { join } from "node:path";
import type { ControlPlane } from "../control-plane/index.js";
import { type ManagedProcess, startProcess } from "../control-plane/process.js";

const IGNORED = new Set(["events", "events.events.k8s.io"]);

/** "resource namespace/name" of every object the API server lists (Events aside). */
export async function allObjects(cp: ControlPlane): Promise<Set<string>> {
  const types = (await cp.kubectl(["api-resources", "--verbs=list", "-o", "name"]))
    .split("\n")
    .map((t) => t.trim())
    .filter((t) => t !== "" && !IGNORED.has(t));
  const out = new Set<string>();
  const list = JSON.parse(
    await cp.kubectl(["get", types.join(","), "-A", "-o", "json"], { timeoutMs: 60_000 }),
  ) as { items: Array<{ apiVersion: string; kind: string; metadata: { namespace?: string; name: string } }> };
  for (const o of list.items) {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "core";
    out.add(`${o.kind}.${group} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
  }
  return out;
}

/** Objects in `after` that were not in `before`, sorted. */
export function added(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((o) => !before.has(o)).sort();
}

export const CONTROLLERS = [
  "garbage-collector-controller",
  "deployment-controller",
  "replicaset-controller",
  "daemonset-controller",
  "clusterrole-aggregation-controller",
  "disruption-controller",
] as const;

/**
 * kube-controller-manager v1.33.13 (`bin`: built by go-tools.sh, from the control-plane project's
 * global setup) against `cp` with the admin credentials.
 */
export function startControllerManager(cp: ControlPlane, bin: string): ManagedProcess {
  return startProcess(
    "kube-controller-manager",
    [
      bin,
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--controllers=${CONTROLLERS.join(",")}`,
      "--leader-elect=false",
      "--secure-port=0",
      // The garbage collector and informers resync quickly in tests.
      "--concurrent-gc-syncs=5",
      "--v=1",
    ],
    join(cp.dir, "kube-controller-manager.log"),
  );
}

/**
 * The operator's machinery on a real kube-apiserver: the informer lists and watches again after the
 * API server goes away (objects changed meanwhile arrive as events), and Lease leader election lets
 * exactly one candidate lead and hands over when the leader releases.
 */
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../../../../e2e/control-plane/index.js";
import { jsonLogger } from "../observe/log.js";
import { ResilientInformer } from "./informer.js";
import { LeaderElector } from "./leader.js";

let cp: ControlPlane;
let kc: KubeConfig;
const lines: string[] = [];
const log = jsonLogger({ level: "debug", write: (l) => void lines.push(l) });

beforeAll(async () => {
  const t = inject("netmapTools");
  cp = await startControlPlane({
    tools: {
      kubeApiserver: t["kube-apiserver"] as string,
      kubectl: t.kubectl as string,
      etcd: t.etcd as string,
    },
  });
  kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  await cp.kubectl(["create", "namespace", "machinery"]);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("ResilientInformer", () => {
  it("lists and watches again after the API server restarts, and reports what changed meanwhile", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const informer = new ResilientInformer<V1ConfigMap>({
      kc,
      path: "/api/v1/namespaces/machinery/configmaps",
      list: () => core.listNamespacedConfigMap({ namespace: "machinery" }),
      log,
    });
    const added: string[] = [];
    const deleted: string[] = [];
    informer.on("add", (o) => added.push(o.metadata?.name ?? ""));
    informer.on("delete", (o) => deleted.push(o.metadata?.name ?? ""));
    await cp.kubectl(["create", "configmap", "before", "-n", "machinery"]);
    await informer.start();
    await until("the first list", () => added.includes("before"));
    try {
      await cp.restartApiServer();
      // Changed while the watch was broken or being re-established.
      await cp.kubectl(["create", "configmap", "after", "-n", "machinery"]);
      await cp.kubectl(["delete", "configmap", "before", "-n", "machinery"]);
      await until(
        "the change made after the restart",
        () => added.includes("after") && deleted.includes("before"),
      );
      expect(informer.list("machinery").map((c) => c.metadata?.name)).toEqual(["after"]);
    } finally {
      await informer.stop();
    }
  });
});

describe("LeaderElector", () => {
  it("lets exactly one candidate lead, and the other take over once the leader releases the Lease", async () => {
    const api = kc.makeApiClient(CoordinationV1Api);
    const make = (identity: string) =>
      new LeaderElector({
        api,
        namespace: "machinery",
        name: "op",
        identity,
        retryPeriodMs: 200,
        leaseDurationSeconds: 5,
        log,
      });
    const a = make("a");
    const b = make("b");
    const lost: string[] = [];
    await a.run(() => lost.push("a"));
    const bLeads = b.run(() => lost.push("b"));
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    const lease = JSON.parse(await cp.kubectl(["get", "lease", "op", "-n", "machinery", "-o", "json"])) as {
      spec: { holderIdentity: string };
    };
    expect(lease.spec.holderIdentity).toBe("a");
    await a.stop();
    await bLeads;
    expect(b.isLeader).toBe(true);
    await b.stop();
    expect(lost).toEqual([]);
  });
});

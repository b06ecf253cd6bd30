/**
 * charts/netmap against a real API server with the controllers a release depends on (garbage
 * collector, Deployment, ReplicaSet, DaemonSet, ClusterRole aggregation, disruption: a real
 * kube-controller-manager): `helm install` of the defaults and of each ci/*-values.yaml (every
 * object accepted), `helm uninstall` leaving nothing behind, PodSecurity admission on the operator's
 * and the probes' pods, and the life of a release: install an older chart, run the operator with
 * the chart's RBAC, `helm upgrade` to this chart with a changed value — the CRDs are upgraded and the
 * probes roll (the DaemonSet controller replaces their pods) — then uninstall, and nothing is left.
 */
import { cpSync, lstatSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { CommandError, type ControlPlane, execOk, startControlPlane } from "../control-plane/index.js";
import type { ManagedProcess } from "../control-plane/process.js";
import { repoRoot } from "../control-plane/tools.js";
import { type Proc, startOperator } from "../operator/cluster.js";
import { CHART_DIR, ciValuesFiles, helmStderr, NAMESPACE, parseManifests, RELEASE } from "./chart.js";
import { added, allObjects, startControllerManager } from "./cluster-state.js";

const SERVICE_MONITOR_CRD = fileURLToPath(
  new URL("testdata/monitoring.coreos.com_servicemonitors.yaml", import.meta.url),
);
let cp: ControlPlane;
let kcm: ManagedProcess;
let helmBin: string;
const work = mkdtempSync(join(tmpdir(), "netmap-helm-"));
const procs: Proc[] = [];

/** helm with the admin kubeconfig; returns stdout, throws with helm's message. */
async function helm(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  try {
    return await execOk([helmBin, "--kubeconfig", cp.kubeconfigPath, ...args], { timeoutMs });
  } catch (e) {
    if (e instanceof CommandError) throw new Error(`helm ${args.join(" ")} failed: ${helmStderr(e.stderr)}`);
    throw e;
  }
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const getJson = async <T>(args: readonly string[]): Promise<T> =>
  JSON.parse((await cp.kubectl([...args, "-o", "json"])) || "null") as T;

interface PodList {
  items: Array<{
    metadata: { name: string; labels?: Record<string, string> };
    spec: { containers: Array<{ command?: string[] }> };
  }>;
}
const probePods = () =>
  getJson<PodList>(["get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=probe"]);

beforeAll(async () => {
  const tools = inject("netmapTools");
  helmBin = tools.helm as string;
  cp = await startControlPlane({
    tools: {
      kubeApiserver: tools["kube-apiserver"] as string,
      kubectl: tools.kubectl as string,
      etcd: tools.etcd as string,
    },
  });
  kcm = startControllerManager(cp, tools["kube-controller-manager"] as string);
  // Two Ready nodes for the DaemonSet controller (no kubelet runs: pods stay Pending).
  for (const n of ["node-1", "node-2"]) {
    await cp.kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: n, labels: { "kubernetes.io/os": "linux", "kubernetes.io/hostname": n } },
      }),
    });
    await cp.kubectl([
      "patch",
      "node",
      n,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }] } }),
    ]);
  }
  // The release namespace, as the README says: the probes need PodSecurity "privileged".
  await cp.kubectl(["create", "namespace", NAMESPACE]);
  await cp.kubectl(["label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=privileged"]);
}, 180_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await kcm?.stop();
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Waits until the cluster holds exactly `before` plus `expected` (the garbage collector is asynchronous). */
async function expectLeft(before: Set<string>, expected: string[] = []): Promise<void> {
  await until(
    "the release's objects to be gone",
    async () => {
      try {
        return added(before, await allObjects(cp));
      } catch (e) {
        // A CRD deleted between listing the resource types and reading them: read again.
        if (e instanceof CommandError && /doesn't have a resource type/.test(e.message))
          return [`(a resource type went away while reading: ${e.message.split(": ").pop()})`];
        throw e;
      }
    },
    (left) => JSON.stringify(left) === JSON.stringify(expected.sort()),
    60_000,
  );
}

describe("helm install and uninstall of each variant, on a real API server", () => {
  // A variant that fails leaves no release behind for the next one (one failure, not a cascade).
  afterEach(async () => {
    await helm(["uninstall", RELEASE, "-n", NAMESPACE, "--ignore-not-found"]);
    await cp.kubectl([
      "delete",
      "crd",
      "networktraces.netmap.io",
      "networktracesegments.netmap.io",
      "--ignore-not-found",
      "--wait",
    ]);
  });
  const variants = [undefined, ...ciValuesFiles()];
  for (const file of variants) {
    const name = file ? `ci/${basename(file)}` : "the default values";
    it(`${name}: every object accepted, all there, nothing left after uninstall`, async () => {
      const values = file
        ? (parse(readFileSync(file, "utf8")) as Record<string, Record<string, unknown>>)
        : {};
      const monitor = (values.metrics?.serviceMonitor as { enabled?: boolean } | undefined)?.enabled === true;
      const ownCrds = (values.crds as { install?: boolean } | undefined)?.install === false;
      const keep = (values.crds as { keep?: boolean } | undefined)?.keep === true;
      const aggregate =
        (values.userRoles as { aggregateToEdit?: boolean } | undefined)?.aggregateToEdit === true;
      if (monitor) await cp.kubectl(["apply", "--server-side", "-f", SERVICE_MONITOR_CRD]);
      const editBefore = await getJson<{ rules?: unknown[] }>(["get", "clusterrole", "edit"]);
      const before = await allObjects(cp);
      if (ownCrds) await cp.kubectl(["apply", "--server-side", "-f", join(repoRoot(), "crds")]);

      const out = await helm(["install", RELEASE, CHART_DIR, "-n", NAMESPACE, ...(file ? ["-f", file] : [])]);
      expect(out).toContain("STATUS: deployed");
      expect(out).toContain("kubectl netmap <pod-a> <pod-b> --port 8080 -n <namespace>");
      expect(out).toContain(
        `kubectl label namespace ${NAMESPACE} pod-security.kubernetes.io/enforce=privileged`,
      );
      const manifest = parseManifests(await helm(["get", "manifest", RELEASE, "-n", NAMESPACE]));
      expect(manifest.length).toBeGreaterThan(10);
      for (const m of manifest) {
        const ns = m.metadata.namespace ? ["-n", m.metadata.namespace] : [];
        const kind = m.apiVersion.includes("/") ? `${m.kind}.${m.apiVersion.split("/")[0]}` : m.kind;
        await cp.kubectl(["get", kind, m.metadata.name, ...ns, "-o", "name"]);
      }
      if (aggregate) {
        // The ClusterRole aggregation controller folds netmap-tracer into edit.
        await until(
          "netmap-tracer in the edit role",
          () => getJson<{ rules?: Array<{ apiGroups?: string[] }> }>(["get", "clusterrole", "edit"]),
          (r) => (r.rules ?? []).some((x) => x.apiGroups?.includes("netmap.io")),
        );
      }

      // No --wait: helm's wait once ran out its 60 s without saying on what (.ci/run, 1 run in 5);
      // expectLeft below waits for the same thing and names what is still there.
      expect(await helm(["uninstall", RELEASE, "-n", NAMESPACE])).toContain("uninstalled");
      const kept = keep || ownCrds ? ["networktraces.netmap.io", "networktracesegments.netmap.io"] : [];
      await expectLeft(
        before,
        kept.length
          ? [
              ...kept.map((c) => `CustomResourceDefinition.apiextensions.k8s.io /${c}`),
              // The API server's own registration of the CRDs' group, there as long as they are.
              "APIService.apiregistration.k8s.io /v1alpha1.netmap.io",
            ]
          : [],
      );
      if (kept.length) await cp.kubectl(["delete", "crd", ...kept, "--wait"]);
      if (monitor) await cp.kubectl(["delete", "-f", SERVICE_MONITOR_CRD, "--wait"]);
      await until(
        "the edit role as it was",
        () => getJson<{ rules?: unknown[] }>(["get", "clusterrole", "edit"]),
        (r) => JSON.stringify(r.rules) === JSON.stringify(editBefore.rules),
      );
    });
  }
});

describe("PodSecurity admission", () => {
  const podOf = (template: { spec: unknown }, name: string, namespace: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace },
    spec: template.spec,
  });
  const dryRun = async (pod: unknown): Promise<string> => {
    try {
      await cp.kubectl(["create", "--dry-run=server", "-f", "-"], { input: JSON.stringify(pod) });
      return "accepted";
    } catch (e) {
      if (e instanceof CommandError) return e.stderr.trim();
      throw e;
    }
  };

  it("admits the operator's pod under restricted, and the probes' only under privileged, naming why", async () => {
    const objs = parseManifests(
      await execOk([helmBin, "template", RELEASE, CHART_DIR, "-n", NAMESPACE, "--kube-version", "1.33.13"]),
    );
    const deploy = objs.find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: unknown } };
    };
    for (const [ns, level] of [
      ["psa-restricted", "restricted"],
      ["psa-baseline", "baseline"],
      ["psa-privileged", "privileged"],
    ] as const) {
      await cp.kubectl(["create", "namespace", ns]);
      await cp.kubectl(["label", "namespace", ns, `pod-security.kubernetes.io/enforce=${level}`]);
      for (const sa of ["netmap-operator", "netmap-probe"])
        await cp.kubectl(["create", "serviceaccount", sa, "-n", ns]);
    }
    expect(await dryRun(podOf(deploy.spec.template, "operator", "psa-restricted"))).toBe("accepted");
    // The probe's pod as the operator builds it from the chart's configuration.
    const { parseProbeConfig, probeDaemonSet } = await import("@netmap/operator");
    const cm = objs.find((o) => o.kind === "ConfigMap") as unknown as { data: Record<string, string> };
    const ds = probeDaemonSet(
      { metadata: { name: "netmap-probe", namespace: "x", uid: "u" } },
      parseProbeConfig(cm.data["probe.yaml"] ?? ""),
    );
    const probe = podOf(ds.spec?.template as { spec: unknown }, "probe", "psa-baseline");
    const refused = await dryRun(probe);
    expect(refused).toContain('violates PodSecurity "baseline:latest"');
    expect(refused).toMatch(/host namespaces \(hostNetwork=true, hostPID=true\)/);
    expect(refused).toMatch(
      /non-default capabilities \(container "probe" must not include "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"/,
    );
    // Not privileged: baseline names no "privileged" violation.
    expect(refused).not.toContain("privileged (");
    expect(await dryRun(podOf(ds.spec?.template as { spec: unknown }, "probe", "psa-privileged"))).toBe(
      "accepted",
    );
  });
});

describe("a release's life: an older chart, the operator, an upgrade that upgrades the CRDs and rolls the probes, uninstall", () => {
  /** This chart as version 0.1.9, whose NetworkTrace CRD lacks the Message printer column. */
  function olderChart(): string {
    const dir = join(work, "netmap-old");
    cpSync(CHART_DIR, dir, { recursive: true });
    // files/crds is a link to the repository's crds/: the copy gets files of its own, never the link.
    const crds = join(dir, "files/crds");
    if (lstatSync(crds).isSymbolicLink()) unlinkSync(crds);
    cpSync(join(repoRoot(), "crds"), crds, { recursive: true });
    const chart = parse(readFileSync(join(dir, "Chart.yaml"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "Chart.yaml"), stringify({ ...chart, version: "0.1.9" }));
    const crdFile = join(crds, "netmap.io_networktraces.yaml");
    if (lstatSync(crds).isSymbolicLink() || lstatSync(crdFile).isSymbolicLink())
      throw new Error(`${crdFile} is a link: editing it would edit the repository`);
    const crd = parse(readFileSync(crdFile, "utf8")) as {
      spec: { versions: Array<{ additionalPrinterColumns: Array<{ name: string }> }> };
    };
    const v = crd.spec.versions[0];
    if (!v) throw new Error("the NetworkTrace CRD has no version");
    v.additionalPrinterColumns = v.additionalPrinterColumns.filter((c) => c.name !== "Message");
    writeFileSync(crdFile, stringify(crd));
    return dir;
  }
  const columns = async () =>
    (
      await getJson<{ spec: { versions: Array<{ additionalPrinterColumns: Array<{ name: string }> }> } }>([
        "get",
        "crd",
        "networktraces.netmap.io",
      ])
    ).spec.versions[0]?.additionalPrinterColumns.map((c) => c.name) ?? [];
  let before: Set<string>;
  let hashBefore: string;

  it("installs the older chart; the operator (chart's RBAC) deploys the probes and the DaemonSet controller makes their pods", async () => {
    before = await allObjects(cp);
    await helm(["install", RELEASE, olderChart(), "-n", NAMESPACE]);
    expect(await columns()).not.toContain("Message");
    const op = await startOperator(cp, work);
    procs.push(op);
    const pods = await until("a probe pod per node", probePods, (p) => p.items.length === 2);
    hashBefore = pods.items[0]?.metadata.labels?.["controller-revision-hash"] ?? "";
    expect(hashBefore).not.toBe("");
    expect(pods.items[0]?.spec.containers[0]?.command).toContain("--log-level=info");
  });

  it("helm upgrade to this chart with probe.logLevel=debug: the CRD gains its column, the probes roll", async () => {
    const out = await helm(["upgrade", RELEASE, CHART_DIR, "-n", NAMESPACE, "--set", "probe.logLevel=debug"]);
    expect(out).toContain("REVISION: 2");
    expect(await columns()).toContain("Message");
    const pods = await until(
      "the probe pods of the new revision",
      probePods,
      (p) =>
        p.items.length === 2 &&
        p.items.every((x) => x.metadata.labels?.["controller-revision-hash"] !== hashBefore),
    );
    for (const p of pods.items) expect(p.spec.containers[0]?.command).toContain("--log-level=debug");
    // A second upgrade with the same values changes nothing in the probes.
    await helm(["upgrade", RELEASE, CHART_DIR, "-n", NAMESPACE, "--set", "probe.logLevel=debug"]);
    const again = await probePods();
    expect(again.items.map((p) => p.metadata.name).sort()).toEqual(
      pods.items.map((p) => p.metadata.name).sort(),
    );
  });

  it("helm uninstall (the operator gone first, as its pod would be): the garbage collector takes the probes; nothing is left", async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await helm(["uninstall", RELEASE, "-n", NAMESPACE]); // expectLeft waits, and names what is left
    await expectLeft(before);
  });
});

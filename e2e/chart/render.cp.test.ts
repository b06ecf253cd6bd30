/**
 * The chart's unit tests: `helm template` (the real helm v3.21.4) with one value changed at a time,
 * and what changes in the manifests. The probe's configuration goes through the operator's own
 * parser and DaemonSet builder, so a value is followed all the way to the probe pods' spec. Every
 * leaf of values.yaml has a case here (the last test checks that), the schema refuses unknown keys
 * and bad values with helm's message, and `helm lint --strict` passes for the defaults and each
 * ci/*-values.yaml.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { V1DaemonSet } from "@kubernetes/client-node";
import { parseProbeConfig, probeDaemonSet } from "@netmap/operator";
import { describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../control-plane/tools.js";
import {
  at,
  ciValuesFiles,
  defaultValues,
  has,
  helmLint,
  type Manifest,
  NAMESPACE,
  one,
  refusal,
  render,
} from "./chart.js";

const helm = () => inject("netmapTools").helm as string;

const deployment = (o: Manifest[]) => one(o, "Deployment", "netmap-operator");
const operatorPod = (o: Manifest[]) => at(deployment(o), "spec.template") as Record<string, unknown>;
const operatorContainer = (o: Manifest[]) =>
  at(deployment(o), "spec.template.spec.containers.0") as { image: string; command: string[] } & Record<
    string,
    unknown
  >;
/** The DaemonSet the operator makes of the rendered probe configuration. */
function probeDs(o: Manifest[]): V1DaemonSet {
  const cm = one(o, "ConfigMap", "netmap-probe");
  return probeDaemonSet(
    { metadata: { name: "netmap-probe", namespace: NAMESPACE, uid: "u" } },
    parseProbeConfig((cm as unknown as { data: Record<string, string> }).data["probe.yaml"] ?? ""),
  );
}
const probePod = (o: Manifest[]) => probeDs(o).spec?.template;
const probeContainer = (o: Manifest[]) => probeDs(o).spec?.template.spec?.containers[0];
const vap = (o: Manifest[], name: string) => one(o, "ValidatingAdmissionPolicy", name);
const expressions = (p: Manifest) =>
  (at(p, "spec.validations") as Array<{ expression: string }>).map((v) => v.expression).join("\n");

interface Case {
  /** The values.yaml leaf (or map) this case changes. */
  value: string;
  set: Record<string, unknown>;
  check(objs: Manifest[], defaults: Manifest[]): void;
}

/** {a: {b: v}} from "a.b". */
function nest(path: string, v: unknown): Record<string, unknown> {
  return path
    .split(".")
    .reverse()
    .reduce<unknown>((acc, k) => ({ [k]: acc }), v) as Record<string, unknown>;
}
const c = (value: string, v: unknown, check: Case["check"]): Case => ({ value, set: nest(value, v), check });

const CASES: Case[] = [
  c("image.repository", "registry.example.com/nm", (o) => {
    expect(operatorContainer(o).image).toBe("registry.example.com/nm:0.1.0");
    expect(probeContainer(o)?.image).toBe("registry.example.com/nm:0.1.0");
  }),
  c("image.tag", "9.9.9", (o) => {
    expect(operatorContainer(o).image).toBe("netmap:9.9.9");
    expect(probeContainer(o)?.image).toBe("netmap:9.9.9");
  }),
  c("image.digest", `sha256:${"a".repeat(64)}`, (o) => {
    expect(operatorContainer(o).image).toBe(`netmap@sha256:${"a".repeat(64)}`);
    expect(probeContainer(o)?.image).toBe(`netmap@sha256:${"a".repeat(64)}`);
  }),
  c("image.pullPolicy", "Always", (o) => {
    expect(operatorContainer(o).imagePullPolicy).toBe("Always");
    expect(probeContainer(o)?.imagePullPolicy).toBe("Always");
  }),
  c("image.pullSecrets", ["regcred"], (o) => {
    expect(at(operatorPod(o), "spec.imagePullSecrets")).toEqual([{ name: "regcred" }]);
    expect(probePod(o)?.spec?.imagePullSecrets).toEqual([{ name: "regcred" }]);
  }),
  c("crds.install", false, (o, d) => {
    expect(d.filter((m) => m.kind === "CustomResourceDefinition")).toHaveLength(2);
    expect(o.filter((m) => m.kind === "CustomResourceDefinition")).toHaveLength(0);
  }),
  c("crds.keep", true, (o, d) => {
    for (const crd of ["networktraces.netmap.io", "networktracesegments.netmap.io"]) {
      expect(one(o, "CustomResourceDefinition", crd).metadata.annotations?.["helm.sh/resource-policy"]).toBe(
        "keep",
      );
      expect(one(d, "CustomResourceDefinition", crd).metadata.annotations?.["helm.sh/resource-policy"]).toBe(
        undefined,
      );
    }
  }),
  c("operator.replicas", 3, (o) => {
    expect(at(deployment(o), "spec.replicas")).toBe(3);
    expect(operatorContainer(o).command).toContain("--leader-elect=true");
  }),
  c("operator.logLevel", "debug", (o) => expect(operatorContainer(o).command).toContain("--log-level=debug")),
  c("operator.workers", 64, (o) => expect(operatorContainer(o).command).toContain("--workers=64")),
  c("operator.metricsPort", 9443, (o) => {
    expect(operatorContainer(o).command).toContain("--metrics-addr=0.0.0.0:9443");
    expect(at(operatorContainer(o), "ports.0.containerPort")).toBe(9443);
    expect(at(one(o, "Service", "netmap-operator-metrics"), "spec.ports.0.port")).toBe(9443);
  }),
  c("operator.leaseName", "nm-leader", (o) => {
    expect(operatorContainer(o).command).toContain("--lease-name=nm-leader");
    expect(has(o, "Lease", "nm-leader")).toBe(true);
    const role = one(o, "Role", "netmap-operator");
    expect(at(role, "rules")).toContainEqual({
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["nm-leader"],
      verbs: ["get", "update"],
    });
  }),
  c("operator.serviceAccount.name", "nm-op", (o) => {
    expect(has(o, "ServiceAccount", "nm-op")).toBe(true);
    expect(at(operatorPod(o), "spec.serviceAccountName")).toBe("nm-op");
    for (const b of [
      one(o, "ClusterRoleBinding", "netmap-operator"),
      one(o, "RoleBinding", "netmap-operator"),
    ])
      expect(at(b, "subjects.0")).toEqual({ kind: "ServiceAccount", name: "nm-op", namespace: NAMESPACE });
  }),
  c("operator.serviceAccount.annotations", { "iam.example.com/role": "r" }, (o) =>
    expect(one(o, "ServiceAccount", "netmap-operator").metadata.annotations).toEqual({
      "iam.example.com/role": "r",
    }),
  ),
  c("operator.resources", { requests: { cpu: "1", memory: "1Gi" } }, (o) =>
    expect(operatorContainer(o).resources).toEqual({
      requests: { cpu: "1", memory: "1Gi" },
      limits: { memory: "384Mi" },
    }),
  ),
  c("operator.nodeSelector", { "node-role.example.com/infra": "true" }, (o) =>
    expect(at(operatorPod(o), "spec.nodeSelector")).toEqual({
      "kubernetes.io/os": "linux",
      "node-role.example.com/infra": "true",
    }),
  ),
  c("operator.tolerations", [{ key: "infra", operator: "Exists" }], (o, d) => {
    expect(at(operatorPod(o), "spec.tolerations")).toEqual([{ key: "infra", operator: "Exists" }]);
    expect(at(operatorPod(d), "spec.tolerations")).toBeUndefined();
  }),
  c("operator.affinity", { nodeAffinity: { x: 1 } }, (o) =>
    expect(at(operatorPod(o), "spec.affinity")).toEqual({ nodeAffinity: { x: 1 } }),
  ),
  c("operator.priorityClassName", "system-cluster-critical", (o, d) => {
    expect(at(operatorPod(o), "spec.priorityClassName")).toBe("system-cluster-critical");
    expect(at(operatorPod(d), "spec.priorityClassName")).toBeUndefined();
  }),
  c("operator.podLabels", { team: "platform" }, (o) => {
    expect(at(operatorPod(o), "metadata.labels.team")).toBe("platform");
    // The selector stays what it was (a Deployment's selector is immutable).
    expect(at(deployment(o), "spec.selector.matchLabels")).toEqual({
      "app.kubernetes.io/name": "netmap",
      "app.kubernetes.io/component": "operator",
    });
  }),
  c("operator.podAnnotations", { "example.com/a": "b" }, (o) =>
    expect(at(operatorPod(o), "metadata.annotations")).toEqual({ "example.com/a": "b" }),
  ),
  c("operator.podDisruptionBudget.enabled", false, (o, d) => {
    expect(has(d, "PodDisruptionBudget", "netmap-operator")).toBe(true);
    expect(has(o, "PodDisruptionBudget", "netmap-operator")).toBe(false);
  }),
  c("operator.podDisruptionBudget.maxUnavailable", "50%", (o) =>
    expect(at(one(o, "PodDisruptionBudget", "netmap-operator"), "spec.maxUnavailable")).toBe("50%"),
  ),
  c("probe.serviceAccount.name", "nm-probe", (o) => {
    expect(has(o, "ServiceAccount", "nm-probe")).toBe(true);
    expect(probePod(o)?.spec?.serviceAccountName).toBe("nm-probe");
    expect(at(one(o, "ClusterRoleBinding", "netmap-probe"), "subjects.0.name")).toBe("nm-probe");
    expect(JSON.stringify(at(vap(o, "netmap-probe-node-binding"), "spec.matchConditions"))).toContain(
      "system:serviceaccount:netmap:nm-probe",
    );
  }),
  c("probe.serviceAccount.annotations", { "iam.example.com/role": "p" }, (o) =>
    expect(one(o, "ServiceAccount", "netmap-probe").metadata.annotations).toEqual({
      "iam.example.com/role": "p",
    }),
  ),
  c("probe.nodeSelector", { "netmap.io/probe": "true" }, (o) =>
    expect(probePod(o)?.spec?.nodeSelector).toEqual({
      "kubernetes.io/os": "linux",
      "netmap.io/probe": "true",
    }),
  ),
  c("probe.tolerations", [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }], (o, d) => {
    expect(probePod(o)?.spec?.tolerations).toEqual([
      { key: "gpu", operator: "Exists", effect: "NoSchedule" },
    ]);
    expect(probePod(d)?.spec?.tolerations).toEqual([{ operator: "Exists" }]);
  }),
  c("probe.resources", { limits: { memory: "512Mi" } }, (o) =>
    expect(probeContainer(o)?.resources?.limits).toEqual({ memory: "512Mi" }),
  ),
  c("probe.privileged", true, (o, d) => {
    expect(probeContainer(o)?.securityContext).toMatchObject({
      privileged: true,
      readOnlyRootFilesystem: true,
    });
    expect(probeContainer(o)?.securityContext?.capabilities).toBeUndefined();
    expect(probeContainer(d)?.securityContext).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"], drop: ["ALL"] },
    });
  }),
  c("probe.capabilities", ["NET_ADMIN", "SYS_ADMIN"], (o) =>
    expect(probeContainer(o)?.securityContext?.capabilities).toEqual({
      add: ["NET_ADMIN", "SYS_ADMIN"],
      drop: ["ALL"],
    }),
  ),
  c("probe.seccompProfile", "Unconfined", (o, d) => {
    expect(probeContainer(o)?.securityContext?.seccompProfile).toEqual({ type: "Unconfined" });
    expect(probeContainer(d)?.securityContext?.seccompProfile).toEqual({ type: "RuntimeDefault" });
  }),
  c("probe.maxUnavailable", 3, (o, d) => {
    expect(probeDs(o).spec?.updateStrategy?.rollingUpdate?.maxUnavailable).toBe(3);
    expect(probeDs(d).spec?.updateStrategy?.rollingUpdate?.maxUnavailable).toBe("10%");
  }),
  c("probe.priorityClassName", "", (o, d) => {
    expect(probePod(o)?.spec?.priorityClassName).toBeUndefined();
    expect(probePod(d)?.spec?.priorityClassName).toBe("system-node-critical");
  }),
  c("probe.nodeFlags", ["--max-semi-space-size=4"], (o) =>
    expect(probeContainer(o)?.command?.slice(0, 3)).toEqual([
      "node",
      "--max-semi-space-size=4",
      "operator/probe/dist/agent/main.js",
    ]),
  ),
  c("probe.logLevel", "debug", (o) => expect(probeContainer(o)?.command).toContain("--log-level=debug")),
  c("probe.podLabels", { team: "platform" }, (o) =>
    expect(probePod(o)?.metadata?.labels?.team).toBe("platform"),
  ),
  c("probe.podAnnotations", { "example.com/a": "b" }, (o) =>
    expect(probePod(o)?.metadata?.annotations?.["example.com/a"]).toBe("b"),
  ),
  c("metrics.service.enabled", false, (o, d) => {
    expect(has(d, "Service", "netmap-operator-metrics")).toBe(true);
    expect(has(o, "Service", "netmap-operator-metrics")).toBe(false);
  }),
  c("metrics.serviceMonitor.enabled", true, (o, d) => {
    expect(has(d, "ServiceMonitor", "netmap-operator")).toBe(false);
    const sm = one(o, "ServiceMonitor", "netmap-operator");
    expect(at(sm, "spec.endpoints.0")).toEqual({
      port: "metrics",
      path: "/metrics",
      interval: "30s",
      scrapeTimeout: "10s",
    });
    const svc = one(o, "Service", "netmap-operator-metrics");
    for (const [k, v] of Object.entries(at(sm, "spec.selector.matchLabels") as Record<string, string>))
      expect(svc.metadata.labels?.[k]).toBe(v);
  }),
  c("admission.probeNodeBinding.enabled", false, (o, d) => {
    expect(has(d, "ValidatingAdmissionPolicy", "netmap-probe-node-binding")).toBe(true);
    expect(has(d, "ValidatingAdmissionPolicyBinding", "netmap-probe-node-binding")).toBe(true);
    expect(has(o, "ValidatingAdmissionPolicy", "netmap-probe-node-binding")).toBe(false);
    expect(has(o, "ValidatingAdmissionPolicyBinding", "netmap-probe-node-binding")).toBe(false);
  }),
  c("admission.traceAccess.enabled", false, (o, d) => {
    expect(has(d, "ValidatingAdmissionPolicy", "netmap-trace-access")).toBe(true);
    expect(has(o, "ValidatingAdmissionPolicy", "netmap-trace-access")).toBe(false);
    expect(has(o, "ValidatingAdmissionPolicyBinding", "netmap-trace-access")).toBe(false);
  }),
  c("admission.traceAccess.ipDestination", "allow", (o, d) => {
    expect(expressions(vap(d, "netmap-trace-access"))).toContain("resource('pods').check('list')");
    expect(expressions(vap(o, "netmap-trace-access"))).not.toContain("object.spec.destination.ip");
  }),
  c("userRoles.create", false, (o, d) => {
    expect(has(d, "ClusterRole", "netmap-tracer")).toBe(true);
    expect(has(o, "ClusterRole", "netmap-tracer")).toBe(false);
  }),
  c("userRoles.aggregateToEdit", true, (o, d) => {
    expect(one(o, "ClusterRole", "netmap-tracer").metadata.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-edit": "true",
      "rbac.authorization.k8s.io/aggregate-to-admin": "true",
    });
    expect(
      one(d, "ClusterRole", "netmap-tracer").metadata.labels?.["rbac.authorization.k8s.io/aggregate-to-edit"],
    ).toBe(undefined);
  }),
];

/** The ServiceMonitor's own values act only with it enabled: these cases turn it on too. */
const SERVICE_MONITOR_CASES: Case[] = [
  c("metrics.serviceMonitor.interval", "", (o) =>
    expect(at(one(o, "ServiceMonitor", "netmap-operator"), "spec.endpoints.0.interval")).toBeUndefined(),
  ),
  c("metrics.serviceMonitor.scrapeTimeout", "3s", (o) =>
    expect(at(one(o, "ServiceMonitor", "netmap-operator"), "spec.endpoints.0.scrapeTimeout")).toBe("3s"),
  ),
  c("metrics.serviceMonitor.labels", { release: "prom" }, (o) =>
    expect(one(o, "ServiceMonitor", "netmap-operator").metadata.labels?.release).toBe("prom"),
  ),
];

describe("charts/netmap renders each value into the manifests", () => {
  let defaults: Manifest[];
  const defaultsOnce = async () => {
    defaults ??= await render(helm());
    return defaults;
  };

  it("renders the default values: every object labelled, in the release namespace when namespaced", async () => {
    const o = await defaultsOnce();
    expect(o.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      [
        "ClusterRole/netmap-operator",
        "ClusterRole/netmap-probe",
        "ClusterRole/netmap-tracer",
        "ClusterRoleBinding/netmap-operator",
        "ClusterRoleBinding/netmap-probe",
        "ConfigMap/netmap-probe",
        "CustomResourceDefinition/networktraces.netmap.io",
        "CustomResourceDefinition/networktracesegments.netmap.io",
        "Deployment/netmap-operator",
        "Lease/netmap-operator",
        "PodDisruptionBudget/netmap-operator",
        "Role/netmap-operator",
        "RoleBinding/netmap-operator",
        "Service/netmap-operator-metrics",
        "ServiceAccount/netmap-operator",
        "ServiceAccount/netmap-probe",
        "ValidatingAdmissionPolicy/netmap-probe-node-binding",
        "ValidatingAdmissionPolicy/netmap-trace-access",
        "ValidatingAdmissionPolicyBinding/netmap-probe-node-binding",
        "ValidatingAdmissionPolicyBinding/netmap-trace-access",
      ].sort(),
    );
    const clusterScoped = new Set([
      "ClusterRole",
      "ClusterRoleBinding",
      "CustomResourceDefinition",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ]);
    for (const m of o) {
      expect(m.metadata.labels?.["app.kubernetes.io/instance"], `${m.kind}/${m.metadata.name}`).toBe(
        "netmap",
      );
      expect(m.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
      expect(m.metadata.namespace).toBe(clusterScoped.has(m.kind) ? undefined : NAMESPACE);
    }
  });

  it("ships the CRDs of crds/ unchanged but for the release's labels", async () => {
    const dir = join(repoRoot(), "crds");
    const crds = readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => parse(readFileSync(join(dir, f), "utf8")) as Manifest);
    expect(crds).toHaveLength(2);
    const o = await defaultsOnce();
    for (const crd of crds) {
      const rendered = one(o, "CustomResourceDefinition", crd.metadata.name);
      const { labels: _l, ...meta } = rendered.metadata;
      expect({ ...rendered, metadata: meta }).toEqual(crd);
    }
  });

  it("runs the operator as a non-root user with nothing but its token: no capabilities, read-only root, RuntimeDefault", async () => {
    const o = await defaultsOnce();
    const pod = operatorPod(o);
    expect(at(pod, "spec.securityContext")).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(operatorContainer(o).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(at(pod, "spec.automountServiceAccountToken")).toBe(true);
    for (const sa of ["netmap-operator", "netmap-probe"])
      expect(at(one(o, "ServiceAccount", sa), "automountServiceAccountToken")).toBe(false);
    expect(probePod(o)?.spec?.automountServiceAccountToken).toBe(true);
    expect(probePod(o)?.spec?.hostNetwork).toBe(true);
    expect(probePod(o)?.spec?.hostPID).toBe(true);
    expect(probePod(o)?.spec?.hostIPC).toBeUndefined();
    expect(probeContainer(o)?.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      readOnlyRootFilesystem: true,
      seccompProfile: { type: "RuntimeDefault" },
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"], drop: ["ALL"] },
    });
  });

  for (const k of [...CASES, ...SERVICE_MONITOR_CASES]) {
    const monitor = SERVICE_MONITOR_CASES.includes(k);
    it(`${k.value}${monitor ? " (with the ServiceMonitor on)" : ""}`, async () => {
      const set = monitor ? merge(nest("metrics.serviceMonitor.enabled", true), k.set) : k.set;
      k.check(await render(helm(), { values: set }), await defaultsOnce());
    });
  }

  it("has a case for every value in values.yaml", () => {
    const covered = new Set([...CASES, ...SERVICE_MONITOR_CASES].map((k) => k.value));
    const missing = leaves(defaultValues()).filter((p) => !covered.has(p));
    expect(missing).toEqual([]);
  });
});

describe("values.schema.json refuses what the chart cannot install", () => {
  it.each([
    [{ bogus: 1 }, "at '': additional properties 'bogus' not allowed"],
    [{ operator: { replica: 2 } }, "at '/operator': additional properties 'replica' not allowed"],
    [
      { probe: { capabilities: ["net_admin"] } },
      "at '/probe/capabilities/0': value must be one of 'NET_ADMIN'",
    ],
    [{ probe: { privileged: "yes" } }, "at '/probe/privileged': got string, want boolean"],
    [{ operator: { replicas: 0 } }, "at '/operator/replicas': minimum: got 0, want 1"],
    [{ operator: { logLevel: "verbose" } }, "at '/operator/logLevel': value must be one of 'debug'"],
    [{ image: { pullPolicy: "Sometimes" } }, "at '/image/pullPolicy': value must be one of 'Always'"],
    [{ image: { digest: "sha256:short" } }, "at '/image/digest': 'sha256:short' does not match pattern"],
    [{ probe: { seccompProfile: "Localhost" } }, "at '/probe/seccompProfile': value must be one of"],
    [{ probe: { maxUnavailable: "150%" } }, "at '/probe/maxUnavailable': 'anyOf' failed"],
    [
      { admission: { traceAccess: { ipDestination: "sometimes" } } },
      "at '/admission/traceAccess/ipDestination'",
    ],
    [{ probe: { nodeFlags: ["max-old-space-size=1"] } }, "at '/probe/nodeFlags/0'"],
    [{ operator: { metricsPort: 80 } }, "at '/operator/metricsPort': minimum: got 80"],
    [{ crds: { install: "true" } }, "at '/crds/install': got string, want boolean"],
    [{ probe: { tolerations: [{ operator: "Sometimes" }] } }, "at '/probe/tolerations/0/operator'"],
  ])("refuses %j", async (values, message) => {
    const err = await refusal(helm(), values);
    expect(err).toMatch(/values don't meet the specifications of the schema/);
    expect(err).toContain(message);
  });
});

describe("helm lint --strict", () => {
  it("passes for the default values", async () => {
    expect(await helmLint(helm())).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
  for (const file of ciValuesFiles())
    it(`passes for ci/${basename(file)}`, async () => {
      expect(await helmLint(helm(), [file])).toMatch(/0 chart\(s\) failed/);
    });
});

/** The dotted paths of values.yaml's leaves; maps of free-form keys and lists count as one leaf. */
function leaves(v: Record<string, unknown>, prefix = ""): string[] {
  const FREE = /(\.|^)(annotations|labels|podLabels|podAnnotations|nodeSelector|resources|affinity)$/;
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (x !== null && typeof x === "object" && !Array.isArray(x) && !FREE.test(p))
      out.push(...leaves(x as Record<string, unknown>, p));
    else out.push(p);
  }
  return out;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev &&
      typeof prev === "object" &&
      !Array.isArray(prev) &&
      v &&
      typeof v === "object" &&
      !Array.isArray(v)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Least privilege, proved on a real API server: the operator and one probe per node of a kernel lab
 * run with the chart's ServiceAccounts and RBAC (pod-bound tokens for the probes, the chart's
 * admission policies in force) through everything they do — traces on one node, across nodes, to a
 * Service, a time-to-live expiring, the probe configuration changed, deleted and restored — while
 * the API server writes an audit log of their requests. Then, for each of them: no request was
 * refused, and the verbs used are exactly the verbs the chart grants (each grant is used; nothing
 * used is missing). The API server also runs OwnerReferencesPermissionEnforcement (as OpenShift
 * does), which checks what the operator's owner references may claim.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { apply, LAB_NAMESPACE, OPERATOR_NAMESPACE, runTrace } from "../operator/cluster.js";
import { onlineFixture } from "../operator/fixture.js";
import { type Manifest, render } from "./chart.js";

const auditDir = mkdtempSync(join(tmpdir(), "netmap-audit-"));
const AUDIT_LOG = join(auditDir, "audit.log");
const OPERATOR = `system:serviceaccount:${OPERATOR_NAMESPACE}:netmap-operator`;
const PROBE = `system:serviceaccount:${OPERATOR_NAMESPACE}:netmap-probe`;
writeFileSync(
  join(auditDir, "policy.yaml"),
  JSON.stringify({
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [{ level: "Metadata", users: [OPERATOR, PROBE] }, { level: "None" }],
  }),
);

const f = onlineFixture({
  labName: "fltrbac",
  overlay: "vxlan",
  mode: "iptables",
  controlPlane: {
    extraApiServerArgs: [
      `--audit-policy-file=${join(auditDir, "policy.yaml")}`,
      `--audit-log-path=${AUDIT_LOG}`,
      "--audit-log-format=json",
      "--audit-log-mode=blocking",
      "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
    ],
  },
});

interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number; message?: string };
}

/** "group/resource[/subresource] verb" (core group: ""). */
const key = (group: string, resource: string, verb: string) => `${group}/${resource} ${verb}`;

/** What the chart's Roles and ClusterRoles named `name` grant. */
function granted(objs: readonly Manifest[], name: string): Set<string> {
  const out = new Set<string>();
  for (const o of objs) {
    if ((o.kind !== "ClusterRole" && o.kind !== "Role") || o.metadata.name !== name) continue;
    for (const r of (
      o as unknown as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }
    ).rules)
      for (const g of r.apiGroups)
        for (const res of r.resources) for (const v of r.verbs) out.add(key(g, res, v));
  }
  return out;
}

function used(
  events: readonly AuditEvent[],
  user: string,
): { used: Set<string>; refused: AuditEvent[]; other: string[] } {
  const out = new Set<string>();
  const refused: AuditEvent[] = [];
  const other: string[] = [];
  for (const e of events) {
    // A watch is audited when its response starts; it completes only when it ends.
    if (e.user.username !== user || (e.stage !== "ResponseComplete" && e.stage !== "ResponseStarted"))
      continue;
    if (e.responseStatus?.code === 403) refused.push(e);
    const ref = e.objectRef;
    if (!ref?.resource) {
      other.push(`${e.verb} ${e.requestURI}`);
      continue;
    }
    out.add(
      key(ref.apiGroup ?? "", ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource, e.verb),
    );
  }
  return { used: out, refused, other };
}

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("the chart's RBAC is exactly what the operator and the probes use", () => {
  it("runs traces of every kind, a time-to-live, and a probe configuration changed, deleted and restored", async () => {
    const [a, b] = [f.pod("pod-1-1"), f.pod("pod-1-2")];
    const c = f.lab.pods.find((p) => p.node !== a.node);
    if (!c) throw new Error("no pod on another node");
    const same = await runTrace(f.cp, "rbac-same", {
      source: { pod: a.name },
      destination: { pod: b.name },
      port: 8080,
    });
    const cross = await runTrace(f.cp, "rbac-cross", {
      source: { pod: a.name },
      destination: { pod: c.name },
      port: 8080,
    });
    const svc = await runTrace(f.cp, "rbac-svc", {
      source: { pod: b.name },
      destination: { service: "web" },
      port: 80,
    });
    for (const t of [same, cross, svc]) expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    const short = await runTrace(f.cp, "rbac-ttl", {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "icmp",
      ttlSecondsAfterFinished: 2,
    });
    expect(short.status?.phase).toBe("Succeeded");
    const gone = async (kind: string, name: string, ns: string) =>
      (await f.cp.kubectl(["get", kind, name, "-n", ns, "--ignore-not-found", "-o", "name"])).trim() === "";
    await until("the expired trace deleted", () => gone("ntrace", "rbac-ttl", LAB_NAMESPACE));

    const ds = async () => !(await gone("daemonset", "netmap-probe", OPERATOR_NAMESPACE));
    await until("the probe DaemonSet", ds);
    const cm = JSON.parse(
      await f.cp.kubectl(["get", "configmap", "netmap-probe", "-n", OPERATOR_NAMESPACE, "-o", "json"]),
    ) as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    const config = (probeYaml: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "netmap-probe", namespace: OPERATOR_NAMESPACE, labels: cm.metadata.labels },
      data: { "probe.yaml": probeYaml },
    });
    const original = cm.data["probe.yaml"] ?? "";
    await apply(f.cp, [config(original.replace("logLevel: info", "logLevel: debug"))]);
    await until("the DaemonSet rolled", async () =>
      (await f.cp.kubectl(["get", "ds", "netmap-probe", "-n", OPERATOR_NAMESPACE, "-o", "json"])).includes(
        "--log-level=debug",
      ),
    );
    await f.cp.kubectl(["delete", "configmap", "netmap-probe", "-n", OPERATOR_NAMESPACE]);
    await until("the DaemonSet deleted", async () => !(await ds()));
    await apply(f.cp, [config(original)]);
    await until("the DaemonSet back", ds);
  });

  it("refused nothing, and used every verb the chart grants and no other", async () => {
    const events = readFileSync(AUDIT_LOG, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as AuditEvent);
    const chart = await render(inject("netmapTools").helm as string);
    const report: string[] = [];
    for (const [subject, user] of [
      ["netmap-operator", OPERATOR],
      ["netmap-probe", PROBE],
    ] as const) {
      const grants = granted(chart, subject);
      const u = used(events, user);
      expect(u.refused.map((e) => `${e.verb} ${e.requestURI}: ${e.responseStatus?.message}`)).toEqual([]);
      expect(u.other).toEqual([]);
      expect([...u.used].sort()).toEqual([...grants].sort());
      report.push(`${subject}: ${[...u.used].sort().join(", ")}`);
    }
    console.log(`[rbac] requests audited: ${events.length}; used = granted:\n  ${report.join("\n  ")}`);
  });
});

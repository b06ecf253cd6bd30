/**
 * What the chart makes a real API server enforce, whatever RBAC grants on top:
 *
 * - netmap-trace-access: a person may create a NetworkTrace only of pods, Services and nodes they
 *   may get (the API server's own authorizer, asked for the requesting user), and to an IP only
 *   if they may list pods everywhere;
 * - netmap-probe-node-binding: a probe's token (bound to its pod, so naming its node) may write
 *   the status of its own node's NetworkTraceSegments only, and nothing else.
 *
 * Users are client certificates, probes are ServiceAccount tokens from the TokenRequest API bound to
 * a Pod on their node, exactly as a DaemonSet pod's projected token is.
 */
import { describe, expect, it } from "vitest";
import { ApiError, KubeClient, kubeconfigTarget } from "../../operator/probe/src/agent/kube-client.js";
import { CommandError, type ControlPlane } from "../control-plane/index.js";
import { NAMESPACE } from "./chart.js";
import { installedChart } from "./installed.js";

const f = installedChart();

interface Outcome {
  ok: boolean;
  /** kubectl's stderr (the API server's message) when refused. */
  message: string;
}

async function attempt(run: () => Promise<string>): Promise<Outcome> {
  try {
    await run();
    return { ok: true, message: "" };
  } catch (e) {
    if (e instanceof CommandError) return { ok: false, message: e.stderr.trim() };
    throw e;
  }
}

let traceCount = 0;
/** Creates a NetworkTrace in team-a as the user of `kubeconfig`. */
function createTrace(cp: ControlPlane, kubeconfig: string, spec: Record<string, unknown>): Promise<Outcome> {
  return attempt(() =>
    cp.kubectl(["create", "-f", "-"], {
      kubeconfig,
      input: JSON.stringify({
        apiVersion: "netmap.io/v1alpha1",
        kind: "NetworkTrace",
        metadata: { name: `t${++traceCount}`, namespace: "team-a" },
        spec,
      }),
    }),
  );
}

const rbac = (kind: "Role" | "ClusterRole", name: string, rules: unknown[], namespace?: string) => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  rules,
});
const bind = (
  kind: "RoleBinding" | "ClusterRoleBinding",
  name: string,
  role: { kind: "Role" | "ClusterRole"; name: string },
  users: string[],
  namespace?: string,
) => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", ...role },
  subjects: users.map((u) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: u })),
});

const users: Record<string, string> = {};

describe("the chart's admission policies on a real API server", () => {
  it("sets up two namespaces, people with different rights, nodes and probe pods", async () => {
    const { cp } = f;
    await f.apply([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } },
      ...["node-1", "node-2"].map((n) => ({ apiVersion: "v1", kind: "Node", metadata: { name: n } })),
      // Everyone here traces in team-a: the chart's netmap-tracer role there.
      bind(
        "RoleBinding",
        "tracers",
        { kind: "ClusterRole", name: "netmap-tracer" },
        ["alice", "bob", "carol", "dave"],
        "team-a",
      ),
      // alice sees team-a's pods and Services; bob sees nothing.
      rbac(
        "Role",
        "viewer",
        [{ apiGroups: [""], resources: ["pods", "services"], verbs: ["get"] }],
        "team-a",
      ),
      bind("RoleBinding", "alice-views", { kind: "Role", name: "viewer" }, ["alice"], "team-a"),
      // carol may list pods everywhere (and so find which pod holds an address).
      rbac("ClusterRole", "pod-lister", [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }]),
      bind("ClusterRoleBinding", "carol-lists", { kind: "ClusterRole", name: "pod-lister" }, ["carol"]),
      // dave may get node-1, and only node-1.
      rbac("ClusterRole", "node-1-viewer", [
        { apiGroups: [""], resources: ["nodes"], resourceNames: ["node-1"], verbs: ["get"] },
      ]),
      bind("ClusterRoleBinding", "dave-node-1", { kind: "ClusterRole", name: "node-1-viewer" }, ["dave"]),
      // Probe pods, one per node, as the DaemonSet's would be.
      ...["node-1", "node-2"].map((n) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `netmap-probe-${n}`, namespace: NAMESPACE },
        spec: {
          nodeName: n,
          serviceAccountName: "netmap-probe",
          automountServiceAccountToken: false,
          containers: [{ name: "probe", image: "netmap:0.1.0" }],
        },
      })),
    ]);
    for (const u of ["alice", "bob", "carol", "dave"]) users[u] = await cp.kubeconfigForUser(u);
    // The policies are in force once the API server has loaded them: bob's first refusal.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await createTrace(cp, users.bob as string, {
        source: { pod: "web" },
        destination: { pod: "db" },
        protocol: "icmp",
      });
      if (!r.ok) break;
      if (Date.now() > deadline) throw new Error("netmap-trace-access was never enforced");
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  describe("netmap-trace-access: a user traces only what they may already see", () => {
    it("lets alice trace between the pod and the Service she may get", async () => {
      const r = await createTrace(f.cp, users.alice as string, {
        source: { pod: "web" },
        destination: { service: "api" },
        port: 80,
      });
      expect(r).toEqual({ ok: true, message: "" });
    });

    it("refuses bob the same trace, naming the pod he may not get and how to check", async () => {
      const r = await createTrace(f.cp, users.bob as string, {
        source: { pod: "web" },
        destination: { service: "api" },
        port: 80,
      });
      expect(r.ok).toBe(false);
      expect(r.message).toContain(
        "ValidatingAdmissionPolicy 'netmap-trace-access' with binding 'netmap-trace-access' denied request",
      );
      expect(r.message).toContain(
        "user bob may not get pod team-a/web (the source): a NetworkTrace may only trace pods, Services and nodes you may get (kubectl auth can-i get pod/web -n team-a)",
      );
    });

    it("refuses alice a destination in another namespace she cannot see (pod and Service)", async () => {
      const pod = await createTrace(f.cp, users.alice as string, {
        source: { pod: "web" },
        destination: { namespace: "team-b", pod: "secret-db" },
        port: 5432,
      });
      expect(pod.ok).toBe(false);
      expect(pod.message).toContain("user alice may not get pod team-b/secret-db (the destination)");
      const svc = await createTrace(f.cp, users.alice as string, {
        source: { pod: "web" },
        destination: { namespace: "team-b", service: "secret-api" },
        port: 443,
      });
      expect(svc.ok).toBe(false);
      expect(svc.message).toContain("user alice may not get Service team-b/secret-api (the destination)");
      // And a source in another namespace.
      const src = await createTrace(f.cp, users.alice as string, {
        source: { namespace: "team-b", pod: "secret-db" },
        destination: { pod: "web" },
        protocol: "icmp",
      });
      expect(src.message).toContain("user alice may not get pod team-b/secret-db (the source)");
    });

    it("lets only someone who may list pods everywhere trace to an IP", async () => {
      const alice = await createTrace(f.cp, users.alice as string, {
        source: { pod: "web" },
        destination: { ip: "10.244.2.7" },
        protocol: "icmp",
      });
      expect(alice.ok).toBe(false);
      expect(alice.message).toContain(
        "user alice may not trace to the address 10.244.2.7: tracing to an IP needs list on pods in every namespace",
      );
      // carol may list pods everywhere, but not get team-a/web: refused for the source only.
      const carol = await createTrace(f.cp, users.carol as string, {
        source: { pod: "web" },
        destination: { ip: "10.244.2.7" },
        protocol: "icmp",
      });
      expect(carol.message).toContain("user carol may not get pod team-a/web (the source)");
      expect(carol.message).not.toContain("may not trace to the address");
    });

    it("checks a node source by name: dave may trace from node-1, not from node-2", async () => {
      const ok = await createTrace(f.cp, users.dave as string, {
        source: { node: "node-1" },
        destination: { service: "api" },
        port: 80,
      });
      // node-1 passes; the Service he may not get is the one refusal left.
      expect(ok.message).not.toContain("node node-1");
      expect(ok.message).toContain("user dave may not get Service team-a/api (the destination)");
      const no = await createTrace(f.cp, users.dave as string, {
        source: { node: "node-2" },
        destination: { service: "api" },
        port: 80,
      });
      expect(no.message).toContain("user dave may not get node node-2 (the source)");
    });

    it("leaves the operator's status writes alone (only CREATE is checked)", async () => {
      await f.cp.kubectl(["create", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "netmap.io/v1alpha1",
          kind: "NetworkTrace",
          metadata: { name: "by-admin", namespace: "team-a" },
          spec: { source: { pod: "web" }, destination: { pod: "db" }, protocol: "icmp" },
        }),
      });
      const r = await attempt(() =>
        f.cp.kubectl([
          "patch",
          "networktrace",
          "by-admin",
          "-n",
          "team-a",
          "--subresource=status",
          "--type=merge",
          "-p",
          JSON.stringify({ status: { phase: "Failed", message: "written by a test" } }),
        ]),
      );
      expect(r.ok, r.message).toBe(true);
    });
  });

  describe("netmap-probe-node-binding: a probe writes only its own node's results", () => {
    const probe: Record<string, string> = {};
    const segment = (name: string, node: string) => ({
      apiVersion: "netmap.io/v1alpha1",
      kind: "NetworkTraceSegment",
      metadata: { name, namespace: "team-a" },
      spec: {
        nodeName: node,
        trace: { name: "by-admin", uid: "00000000-0000-0000-0000-000000000001" },
        task: {
          step: 0,
          node,
          direction: "request",
          arrival: { kind: "local", packet: { protocol: "icmp", src: "10.244.1.2", dst: "10.244.2.2" } },
          firstHop: 0,
          conntrack: [],
        },
        facts: { nodes: [], pods: [], services: [] },
      },
    });
    const SEGMENTS = "/apis/netmap.io/v1alpha1/namespaces/team-a/networktracesegments";
    /** The probe's own client and its one write: a merge patch of the segment's status. */
    const client = async (kubeconfig: string) => new KubeClient(await kubeconfigTarget(kubeconfig));
    const viaProbe = async (
      kubeconfig: string,
      call: (c: KubeClient) => Promise<unknown>,
    ): Promise<Outcome> => {
      const c = await client(kubeconfig);
      try {
        await call(c);
        return { ok: true, message: "" };
      } catch (e) {
        if (e instanceof ApiError)
          return { ok: false, message: `${e.status} ${e.serverMessage ?? e.message}` };
        throw e;
      } finally {
        c.close();
      }
    };
    const writeStatus = (kubeconfig: string, name: string) =>
      viaProbe(kubeconfig, (c) =>
        c.mergePatch(`${SEGMENTS}/${name}/status`, {
          status: { phase: "Failed", message: "probe test", probe: "netmap-probe-test" },
        }),
      );

    it("gives each probe a token that names its node", async () => {
      for (const node of ["node-1", "node-2"]) {
        const token = await f.cp.createToken({
          namespace: NAMESPACE,
          serviceAccount: "netmap-probe",
          boundPod: { namespace: NAMESPACE, name: `netmap-probe-${node}` },
        });
        probe[node] = await f.cp.kubeconfigForToken(token, `probe-${node}`);
        const who = JSON.parse(
          await f.cp.kubectl(["auth", "whoami", "-o", "json"], { kubeconfig: probe[node] }),
        ) as {
          status: { userInfo: { username: string; extra: Record<string, string[]> } };
        };
        expect(who.status.userInfo.username).toBe(`system:serviceaccount:${NAMESPACE}:netmap-probe`);
        expect(who.status.userInfo.extra["authentication.kubernetes.io/node-name"]).toEqual([node]);
      }
      probe.unbound = await f.cp.kubeconfigForToken(
        await f.cp.createToken({ namespace: NAMESPACE, serviceAccount: "netmap-probe" }),
        "probe-unbound",
      );
      await f.apply([segment("seg-node-1", "node-1"), segment("seg-node-2", "node-2")]);
    });

    it("lets the probe on node-2 write node-2's result", async () => {
      const r = await writeStatus(probe["node-2"] as string, "seg-node-2");
      expect(r).toEqual({ ok: true, message: "" });
      const seg = JSON.parse(
        await f.cp.kubectl(["get", "ntseg", "seg-node-2", "-n", "team-a", "-o", "json"]),
      ) as {
        status?: { phase?: string };
      };
      expect(seg.status?.phase).toBe("Failed");
    });

    it("refuses the probe on node-1 writing node-2's result, naming both nodes", async () => {
      const r = await writeStatus(probe["node-1"] as string, "seg-node-2");
      expect(r.ok).toBe(false);
      expect(r.message).toContain(
        "ValidatingAdmissionPolicy 'netmap-probe-node-binding' with binding 'netmap-probe-node-binding' denied request",
      );
      expect(r.message).toContain(
        "the netmap probe on node node-1 may write only its own node's results: NetworkTraceSegment team-a/seg-node-2 belongs to node node-2",
      );
    });

    it("refuses a probe token that is not bound to a pod (it names no node)", async () => {
      const r = await writeStatus(probe.unbound as string, "seg-node-1");
      expect(r.ok).toBe(false);
      expect(r.message).toContain("wrote without a node in its token");
    });

    it("refuses the probe anything but a status write (RBAC: create, spec patch, delete)", async () => {
      const kc = probe["node-1"] as string;
      const create = await viaProbe(kc, (c) => c.create(SEGMENTS, segment("seg-forged", "node-1")));
      expect(create.message).toMatch(/^403 .*cannot create resource "networktracesegments"/);
      const patch = await viaProbe(kc, (c) =>
        c.mergePatch(`${SEGMENTS}/seg-node-1`, { metadata: { labels: { x: "y" } } }),
      );
      expect(patch.message).toMatch(/^403 .*cannot patch resource "networktracesegments"/);
      const del = await viaProbe(kc, (c) => c.delete(`${SEGMENTS}/seg-node-1`));
      expect(del.message).toMatch(/^403 .*cannot delete resource "networktracesegments"/);
      const get = await viaProbe(kc, (c) => c.get(`${SEGMENTS}/seg-node-1`));
      expect(get.message).toMatch(/^403 .*cannot get resource "networktracesegments"/);
      // What it may do: list (and watch) segments.
      expect(await viaProbe(kc, (c) => c.get(SEGMENTS))).toEqual({ ok: true, message: "" });
    });
  });
});

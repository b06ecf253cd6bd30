/**
 * A real API server with charts/netmap's manifests applied (as `helm template` renders them), for
 * tests of what the chart makes the API server enforce: RBAC and the admission policies. No lab and
 * no operator: the objects the policies look at are written by the test.
 */
import { afterAll, beforeAll, inject } from "vitest";
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "../control-plane/index.js";
import { helmTemplate, NAMESPACE, type RenderOptions } from "./chart.js";

export interface Installed {
  readonly cp: ControlPlane;
  /** `kubectl apply -f -` of objects (a List), as admin. */
  apply(objects: readonly unknown[]): Promise<void>;
}

/** Registers beforeAll/afterAll: a control plane, the release namespace, the chart applied, CRDs established. */
export function installedChart(
  render: RenderOptions = {},
  cpOptions: Omit<ControlPlaneOptions, "tools"> = {},
): Installed {
  const f = {
    cp: undefined as unknown as ControlPlane,
    apply: async (objects: readonly unknown[]) => {
      await f.cp.kubectl(["apply", "-f", "-"], {
        input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
      });
    },
  };
  beforeAll(async () => {
    const tools = inject("netmapTools");
    f.cp = await startControlPlane({
      ...cpOptions,
      tools: {
        kubeApiserver: tools["kube-apiserver"] as string,
        kubectl: tools.kubectl as string,
        etcd: tools.etcd as string,
      },
    });
    await f.cp.kubectl(["create", "namespace", render.namespace ?? NAMESPACE]);
    await f.cp.kubectl(["apply", "--server-side", "-f", "-"], {
      input: await helmTemplate(tools.helm as string, render),
    });
    await f.cp.kubectl([
      "wait",
      "--for=condition=Established",
      "crd/networktraces.netmap.io",
      "crd/networktracesegments.netmap.io",
    ]);
  }, 180_000);
  afterAll(async () => {
    await f.cp?.stop();
  });
  return f;
}

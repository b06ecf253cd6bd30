/**
 * Test workloads for kind e2e: a TCP echo pod on each of two nodes and a ClusterIP Service for the
 * second, run from netmap's image (socat answers each connection with the pod's name), plus the node
 * facts the wiring checks compare with.
 */
import type { KindCluster } from "./harness.js";

export const SMOKE_NAMESPACE = "netmap-smoke";

export interface TestPod {
  name: string;
  node: string;
  ip: string;
}

export interface PodPair {
  /** On the control-plane node. */
  a: TestPod;
  /** On a worker. */
  b: TestPod;
  /** ClusterIP of the Service "echo-b" (port 8080, endpoint: b). */
  serviceIp: string;
}

export interface NodeFacts {
  name: string;
  /** The node's InternalIP. */
  address: string;
  podCidr: string;
}

function echoPod(name: string, node: string, image: string): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: SMOKE_NAMESPACE, labels: { app: name } },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": node },
      tolerations: [
        { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
      ],
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "echo",
          image,
          imagePullPolicy: "IfNotPresent",
          // Every connection gets the pod's name (its hostname) and is closed.
          command: ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "EXEC:/bin/hostname"],
          ports: [{ containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** Deploys echo-a on the control plane, echo-b on a worker and Service echo-b; waits until Ready. */
export async function deployPodPair(cluster: KindCluster, image: string): Promise<PodPair> {
  const worker = cluster.workers[0];
  if (!worker) throw new Error(`cluster ${cluster.name} has no worker node`);
  const objects = {
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: SMOKE_NAMESPACE } },
      echoPod("echo-a", cluster.controlPlane, image),
      echoPod("echo-b", worker, image),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "echo-b", namespace: SMOKE_NAMESPACE },
        spec: { selector: { app: "echo-b" }, ports: [{ name: "echo", port: 8080, targetPort: 8080 }] },
      },
    ],
  };
  await cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(objects) });
  await cluster.kubectl(
    ["-n", SMOKE_NAMESPACE, "wait", "--for=condition=Ready", "pod/echo-a", "pod/echo-b", "--timeout=120s"],
    { timeoutMs: 130_000 },
  );
  const pod = async (name: string): Promise<TestPod> => {
    const json = JSON.parse(
      await cluster.kubectl(["-n", SMOKE_NAMESPACE, "get", "pod", name, "-o", "json"]),
    ) as {
      spec: { nodeName: string };
      status: { podIP: string };
    };
    return { name, node: json.spec.nodeName, ip: json.status.podIP };
  };
  const serviceIp = (
    await cluster.kubectl([
      "-n",
      SMOKE_NAMESPACE,
      "get",
      "service",
      "echo-b",
      "-o",
      "jsonpath={.spec.clusterIP}",
    ])
  ).trim();
  return { a: await pod("echo-a"), b: await pod("echo-b"), serviceIp };
}

/**
 * Connects from a pod to ip:8080 and returns what the echo pod answered (its name). Retries a few
 * times for the first seconds of a cluster (endpoints and rules still being programmed).
 */
export async function tcpExchange(
  cluster: KindCluster,
  from: TestPod,
  ip: string,
  attempts = 10,
): Promise<string> {
  let last = "";
  for (let i = 0; i < attempts; i++) {
    try {
      const out = await cluster.kubectl(
        [
          "-n",
          SMOKE_NAMESPACE,
          "exec",
          from.name,
          "--",
          "socat",
          "-T5",
          "-",
          `TCP:${ip}:8080,connect-timeout=5`,
        ],
        { timeoutMs: 20_000 },
      );
      if (out.trim()) return out.trim();
      last = "an empty answer";
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new Error(
    `${from.name} (${from.ip} on ${from.node}) got no answer from ${ip}:8080 after ${attempts} tries: ${last}`,
  );
}

/** The host-side ifindex of a pod's eth0 (its veth peer), from the pod's own /sys. */
export async function podHostVeth(
  cluster: KindCluster,
  pod: TestPod,
  namespace: string = SMOKE_NAMESPACE,
): Promise<number> {
  const out = await cluster.kubectl([
    "-n",
    namespace,
    "exec",
    pod.name,
    "--",
    "cat",
    "/sys/class/net/eth0/iflink",
  ]);
  const n = Number(out.trim());
  if (!Number.isInteger(n) || n <= 0) throw new Error(`unexpected iflink of ${pod.name}'s eth0: ${out}`);
  return n;
}

/** Every node's InternalIP and pod CIDR, by node name. */
export async function nodeFacts(cluster: KindCluster): Promise<Map<string, NodeFacts>> {
  const json = JSON.parse(await cluster.kubectl(["get", "nodes", "-o", "json"])) as {
    items: {
      metadata: { name: string };
      spec: { podCIDR?: string };
      status: { addresses: { type: string; address: string }[] };
    }[];
  };
  const facts = new Map<string, NodeFacts>();
  for (const n of json.items) {
    const address = n.status.addresses.find((a) => a.type === "InternalIP")?.address;
    if (!address || !n.spec.podCIDR)
      throw new Error(`node ${n.metadata.name} has no InternalIP or podCIDR yet`);
    facts.set(n.metadata.name, { name: n.metadata.name, address, podCidr: n.spec.podCIDR });
  }
  return facts;
}

/**
 * netmap on a kind cluster: the chart installed and removed with the real Helm, the workloads the
 * traces run between, the real `kubectl netmap` (kubectl's plugin mechanism finding the workspace's
 * kubectl-netmap on PATH, with the cluster's kubeconfig), and the node state the hops are compared
 * with, read on the node itself (`docker exec`: ip, bridge, iptables-save, nft).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TraceResult } from "@netmap/core";
import { parseAllDocuments } from "yaml";
import { type ExecResult, type KindCluster, KindError, runCommand } from "./harness.js";
import type { TestPod } from "./workloads.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export const RELEASE = "netmap";
export const RELEASE_NAMESPACE = "netmap-system";
/** Where the test workloads and their traces live. */
export const TRACE_NAMESPACE = "netmap-e2e";
export const ECHO_PORT = 8080;
export const SERVICE_PORT = 80;

// ---- the chart ----------------------------------------------------------------------------------

export interface ChartSource {
  /** The chart directory to install. */
  dir: string;
  /** Where it came from, for messages. */
  origin: string;
  cleanup(): Promise<void>;
}

/**
 * charts/netmap as committed at HEAD (a clean export, as netmap's offline image is built from HEAD:
 * the chart and the image belong together), or the work tree's with NETMAP_IMAGE_SOURCE=worktree.
 */
export async function chartSource(): Promise<ChartSource> {
  if (process.env.NETMAP_IMAGE_SOURCE === "worktree") {
    return { dir: join(REPO, "charts", "netmap"), origin: "the work tree", cleanup: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), "netmap-chart-"));
  const tar = join(dir, "head.tar");
  const head = (await runOk(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])).trim();
  // The chart links its CRDs from the repository's crds/ directory: both come along.
  await runOk(["git", "-C", REPO, "archive", "--format=tar", "-o", tar, "HEAD", "charts", "crds"]);
  await runOk(["tar", "-xf", tar, "-C", dir]);
  return {
    dir: join(dir, "charts", "netmap"),
    origin: `HEAD (${head})`,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** "netmap:dev" → repository "netmap", tag "dev" (a registry port before the last slash is kept). */
export function imageParts(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon <= slash) return { repository: ref, tag: "latest" };
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

async function runOk(argv: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const r = await runCommand(argv, { env, timeoutMs });
  if (r.code !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${r.code}`;
    throw new KindError(
      `\`${argv.join(" ")}\` failed (${why}): ${(r.stderr || r.stdout).trim().slice(-3000)}`,
    );
  }
  return r.stdout;
}

function helm(cluster: KindCluster): string {
  const bin = cluster.tools.HELM;
  if (!bin) throw new KindError("prepare.sh printed no HELM=: run e2e/kind/prepare.sh and see its output");
  return bin;
}

/** What `helm get manifest` says the release holds, read before it is uninstalled. */
export interface ReleaseObjects {
  /** kind/namespace/name of every object, "-" for cluster-scoped. */
  objects: Array<{ kind: string; namespace: string; name: string; keep: boolean }>;
  /** CRDs from the chart's crds/ directory (Helm installs those and never deletes them). */
  crdsDirectory: string[];
}

/**
 * `helm install` of the chart with netmap's image as loaded into the nodes (pull policy Never: a
 * node that lacks it says so instead of trying a registry), then waits for the probe DaemonSet the
 * operator creates to be rolled out on every node.
 */
export async function helmInstall(cluster: KindCluster, chart: ChartSource, image: string): Promise<void> {
  const { repository, tag } = imageParts(image);
  try {
    await runOk(
      [
        helm(cluster),
        "install",
        RELEASE,
        chart.dir,
        "--namespace",
        RELEASE_NAMESPACE,
        "--create-namespace",
        "--set",
        `image.repository=${repository}`,
        "--set",
        `image.tag=${tag}`,
        "--set",
        "image.pullPolicy=Never",
        "--wait",
        "--timeout",
        "5m",
      ],
      { ...cluster.env },
      330_000,
    );
    // The operator creates the probe DaemonSet from its ConfigMap once its caches are synced.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const r = await runCommand(
        [cluster.tools.KUBECTL as string, "-n", RELEASE_NAMESPACE, "get", "daemonset", "netmap-probe"],
        { env: { ...cluster.env }, timeoutMs: 15_000 },
      );
      if (r.code === 0) break;
      await sleep(1_000);
    }
    await cluster.kubectl(
      ["-n", RELEASE_NAMESPACE, "rollout", "status", "daemonset/netmap-probe", "--timeout=180s"],
      { timeoutMs: 190_000 },
    );
  } catch (e) {
    throw new KindError(
      `helm install of netmap from ${chart.origin} (image ${image}) did not come up: ${(e as Error).message}\n${await releaseDiagnostics(cluster)}`,
    );
  }
}

/** The release's pods, the operator's log tail and the namespace's events, for an error message. */
export async function releaseDiagnostics(cluster: KindCluster): Promise<string> {
  const parts: string[] = [];
  const kubectl = async (args: string[]) => {
    const r = await runCommand([cluster.tools.KUBECTL as string, ...args], {
      env: { ...cluster.env },
      timeoutMs: 20_000,
    });
    return (r.stdout + r.stderr).trim();
  };
  parts.push(await kubectl(["-n", RELEASE_NAMESPACE, "get", "all", "-o", "wide"]));
  parts.push(await kubectl(["-n", RELEASE_NAMESPACE, "logs", "deploy/netmap-operator", "--tail=30"]));
  parts.push(await kubectl(["-n", RELEASE_NAMESPACE, "get", "events", "--sort-by=.lastTimestamp"]));
  return parts.join("\n");
}

/** What the release holds (`helm get manifest`) and which CRDs come from the chart's crds/. */
export async function releaseObjects(cluster: KindCluster, chart: ChartSource): Promise<ReleaseObjects> {
  const manifest = await runOk(
    [helm(cluster), "get", "manifest", RELEASE, "--namespace", RELEASE_NAMESPACE],
    { ...cluster.env },
  );
  const objects: ReleaseObjects["objects"] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
    } | null;
    if (!o?.kind || !o.metadata?.name) continue;
    objects.push({
      kind: o.kind,
      namespace: o.metadata.namespace ?? "-",
      name: o.metadata.name,
      keep: o.metadata.annotations?.["helm.sh/resource-policy"] === "keep",
    });
  }
  const crds = await runOk([helm(cluster), "show", "crds", chart.dir]);
  const crdsDirectory = parseAllDocuments(crds)
    .map((d) => (d.toJS() as { metadata?: { name?: string } } | null)?.metadata?.name)
    .filter((n): n is string => typeof n === "string");
  return { objects, crdsDirectory };
}

export async function helmUninstall(cluster: KindCluster): Promise<void> {
  await runOk(
    [helm(cluster), "uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, "--wait", "--timeout", "3m"],
    { ...cluster.env },
    200_000,
  );
}

// ---- kubectl netmap -----------------------------------------------------------------------------

export interface PluginRun extends ExecResult {
  argv: string[];
}

/**
 * `kubectl netmap ARGS`: kubectl finds kubectl-netmap on PATH (the workspace's node_modules/.bin,
 * i.e. kubectl-plugin/bin/kubectl-netmap.js and its built dist) and runs it with the cluster's
 * KUBECONFIG, as a user's shell would.
 */
export async function kubectlNetmap(cluster: KindCluster, args: readonly string[]): Promise<PluginRun> {
  const bin = join(REPO, "node_modules", ".bin");
  if (!existsSync(join(bin, "kubectl-netmap")) || !existsSync(join(REPO, "kubectl-plugin", "dist"))) {
    throw new KindError(
      `no built kubectl-netmap under ${bin}: run \`npm install\` (or \`npx tsc -b\`) at the repository root`,
    );
  }
  const argv = [cluster.tools.KUBECTL as string, "netmap", ...args];
  const r = await runCommand(argv, {
    env: { ...cluster.env, PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` },
    timeoutMs: 150_000,
  });
  return { ...r, argv: ["kubectl", "netmap", ...args] };
}

/** `kubectl netmap ARGS -o json`, parsed; throws with the plugin's stderr when it printed no result. */
export async function traceJson(
  cluster: KindCluster,
  args: readonly string[],
): Promise<{ run: PluginRun; result: TraceResult }> {
  const run = await kubectlNetmap(cluster, [...args, "-o", "json"]);
  try {
    return { run, result: JSON.parse(run.stdout) as TraceResult };
  } catch {
    throw new KindError(
      `\`${run.argv.join(" ")} -o json\` exited ${run.code} without a result: ${run.stderr.trim() || run.stdout.trim()}`,
    );
  }
}

// ---- workloads ----------------------------------------------------------------------------------

export interface NetmapWorkloads {
  /** Two pods on the worker: the same-node pair (worker-a is an endpoint of "web"). */
  workerA: TestPod;
  workerB: TestPod;
  /** One on the control-plane node (an endpoint of "web"). */
  cpA: TestPod;
  /** A hostNetwork pod on the control-plane node: its IP is the node's. */
  hostNet: TestPod;
  /** ClusterIP Service "web" (port 80 → 8080) with endpoints worker-a and cp-a, one per node. */
  web: { clusterIp: string; endpoints: string[] };
  /** ClusterIP Service "nowhere" (port 80) whose selector matches no pod. */
  nowhere: { clusterIp: string };
}

function pod(name: string, node: string, image: string, labels: Record<string, string>, hostNetwork = false) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: TRACE_NAMESPACE, labels: { "netmap-e2e/pod": name, ...labels } },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": node },
      tolerations: [
        { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
      ],
      terminationGracePeriodSeconds: 1,
      ...(hostNetwork ? { hostNetwork: true } : {}),
      containers: [
        hostNetwork
          ? { name: "client", image, imagePullPolicy: "Never", command: ["sleep", "infinity"] }
          : {
              name: "echo",
              image,
              imagePullPolicy: "Never",
              // Every connection gets the pod's name (its hostname) and is closed.
              command: ["socat", `TCP-LISTEN:${ECHO_PORT},fork,reuseaddr`, "EXEC:/bin/hostname"],
              ports: [{ containerPort: ECHO_PORT }],
              readinessProbe: { tcpSocket: { port: ECHO_PORT }, periodSeconds: 1 },
            },
      ],
    },
  };
}

function service(name: string, selector: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: TRACE_NAMESPACE },
    spec: { selector, ports: [{ name: "http", port: SERVICE_PORT, targetPort: ECHO_PORT }] },
  };
}

/** Deploys the trace workloads (netmap's image runs them: socat) and waits for them and web's endpoints. */
export async function deployNetmapWorkloads(cluster: KindCluster, image: string): Promise<NetmapWorkloads> {
  const worker = cluster.workers[0];
  if (!worker) throw new KindError(`cluster ${cluster.name} has no worker node`);
  const cp = cluster.controlPlane;
  const objects = {
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: TRACE_NAMESPACE } },
      pod("worker-a", worker, image, { app: "web" }),
      pod("worker-b", worker, image, { app: "client" }),
      pod("cp-a", cp, image, { app: "web" }),
      pod("host-net", cp, image, {}, true),
      service("web", { app: "web" }),
      service("nowhere", { app: "nothing-has-this-label" }),
    ],
  };
  await cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(objects) });
  await cluster
    .kubectl(["-n", TRACE_NAMESPACE, "wait", "--for=condition=Ready", "pods", "--all", "--timeout=150s"], {
      timeoutMs: 160_000,
    })
    .catch(async (e: unknown) => {
      const pods = await cluster
        .kubectl(["-n", TRACE_NAMESPACE, "get", "pods", "-o", "wide"])
        .catch(() => "");
      throw new KindError(`the trace workloads are not Ready: ${(e as Error).message}\n${pods}`);
    });
  const get = async (name: string): Promise<TestPod> => {
    const json = JSON.parse(
      await cluster.kubectl(["-n", TRACE_NAMESPACE, "get", "pod", name, "-o", "json"]),
    ) as { spec: { nodeName: string }; status: { podIP: string } };
    return { name, node: json.spec.nodeName, ip: json.status.podIP };
  };
  const clusterIp = async (name: string) =>
    (
      await cluster.kubectl([
        "-n",
        TRACE_NAMESPACE,
        "get",
        "service",
        name,
        "-o",
        "jsonpath={.spec.clusterIP}",
      ])
    ).trim();
  const w: NetmapWorkloads = {
    workerA: await get("worker-a"),
    workerB: await get("worker-b"),
    cpA: await get("cp-a"),
    hostNet: await get("host-net"),
    web: { clusterIp: await clusterIp("web"), endpoints: [] },
    nowhere: { clusterIp: await clusterIp("nowhere") },
  };
  // web's EndpointSlice lists both pods as ready before the traces read kube-proxy's rules.
  const want = [w.workerA.ip, w.cpA.ip].sort();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const slices = JSON.parse(
      await cluster.kubectl([
        "-n",
        TRACE_NAMESPACE,
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=web",
        "-o",
        "json",
      ]),
    ) as { items: Array<{ endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }> }> };
    const ready = slices.items
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready !== false)
      .flatMap((e) => e.addresses)
      .sort();
    if (JSON.stringify(ready) === JSON.stringify(want)) {
      w.web.endpoints = ready;
      return w;
    }
    if (Date.now() > deadline)
      throw new KindError(
        `Service web's endpoints are ${ready.join(", ") || "none"}, not ${want.join(", ")}`,
      );
    await sleep(1_000);
  }
}

/**
 * A real TCP connection from a pod to ip:port (socat in the pod): what the echo pod answered, or
 * why the connection failed. Retries `attempts` times, 2 s apart, while it fails.
 */
export async function connect(
  cluster: KindCluster,
  from: TestPod,
  ip: string,
  port: number,
  attempts = 5,
): Promise<{ answer?: string; error?: string }> {
  let error = "";
  for (let i = 0; i < attempts; i++) {
    const r = await runCommand(
      [
        cluster.tools.KUBECTL as string,
        "-n",
        TRACE_NAMESPACE,
        "exec",
        from.name,
        "--",
        "socat",
        "-T5",
        "-",
        `TCP:${ip}:${port},connect-timeout=5`,
      ],
      { env: { ...cluster.env }, timeoutMs: 20_000 },
    );
    if (r.code === 0 && r.stdout.trim()) return { answer: r.stdout.trim() };
    error = (r.stderr || r.stdout).trim() || `exit ${r.code}`;
    if (i + 1 < attempts) await sleep(2_000);
  }
  return { error };
}

// ---- the nodes' own state -------------------------------------------------------------------------

export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  scope?: string;
  flags?: string[];
}

export interface FdbEntry {
  mac: string;
  dst?: string;
  ifname?: string;
}

export interface Neighbour {
  dst: string;
  dev: string;
  lladdr?: string;
}

async function nodeJson<T>(cluster: KindCluster, node: string, argv: readonly string[]): Promise<T> {
  const out = await cluster.execOk(node, argv);
  return JSON.parse(out.trim() || "[]") as T;
}

export const nodeLinks = (c: KindCluster, node: string) =>
  nodeJson<IpLink[]>(c, node, ["ip", "-j", "-d", "link", "show"]);
export const nodeRoutes = (c: KindCluster, node: string) =>
  nodeJson<IpRoute[]>(c, node, ["ip", "-j", "route", "show", "table", "main"]);
export const nodeFdb = (c: KindCluster, node: string, dev: string) =>
  nodeJson<FdbEntry[]>(c, node, ["bridge", "-j", "fdb", "show", "dev", dev]);
export const nodeNeighbours = (c: KindCluster, node: string, dev: string) =>
  nodeJson<Neighbour[]>(c, node, ["ip", "-j", "neigh", "show", "dev", dev]);

/** The named netns (`ip netns list` on the node) whose eth0 holds `ip`: containerd's cni-… netns. */
export async function podNetnsOnNode(cluster: KindCluster, node: string, ip: string): Promise<string> {
  const names = (await cluster.execOk(node, ["ip", "netns", "list"]))
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter(Boolean);
  for (const name of names) {
    const addrs = await nodeJson<Array<{ addr_info?: Array<{ local?: string }> }>>(cluster, node, [
      "ip",
      "-n",
      name,
      "-j",
      "addr",
      "show",
    ]);
    if (addrs.some((a) => a.addr_info?.some((i) => i.local === ip))) return name;
  }
  throw new KindError(
    `no netns in \`ip netns list\` on ${node} holds ${ip} (found: ${names.join(", ") || "none"})`,
  );
}

/** The node's rules of one iptables table as `iptables-save` prints them, one rule a line. */
export async function iptablesSave(
  cluster: KindCluster,
  node: string,
  table: "nat" | "filter",
): Promise<string[]> {
  return (await cluster.execOk(node, ["iptables-save", "-t", table]))
    .split("\n")
    .filter((l) => l.startsWith("-A "));
}

/** kube-proxy's nftables table on the node (`nft list table ip kube-proxy`), chain by chain. */
export async function kubeProxyNft(
  cluster: KindCluster,
  node: string,
): Promise<{ text: string; chains: Map<string, string[]> }> {
  const text = await cluster.execOk(node, ["nft", "list", "table", "ip", "kube-proxy"]);
  const chains = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const m = /^chain (\S+) \{$/.exec(line);
    if (m?.[1]) {
      current = [];
      chains.set(m[1], current);
    } else if (line === "}") current = undefined;
    else if (current && line && !line.startsWith("comment ") && !line.startsWith("type ")) current.push(line);
  }
  return { text, chains };
}

/** `iptables -S CHAIN -v` evidence without its counters, as `iptables-save` prints the rule. */
export function withoutCounters(rule: string): string {
  return rule.replace(/ -c \d+ \d+/, "");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * kind clusters for end-to-end tests: one control-plane node and one worker, on flannel or on
 * kind's own network (kindnet), kube-proxy in iptables or nftables mode.
 *
 *   const cluster = await createKindCluster({ network: "flannel", proxyMode: "iptables", mode: "offline" });
 *   try { await cluster.kubectl(["get", "nodes"]); await cluster.exec(cluster.workers[0], ["ip", "link"]); }
 *   finally { await cluster.delete(); }
 *
 * `offline` builds everything here with no image registry (e2e/kind/prepare.sh offline: a private
 * dockerd with a runc shim, a node image assembled by hand, component images built from their Go
 * modules); `online` is the ordinary `kind create cluster` with kind's published node image, for a
 * machine with internet access. Creation waits (bounded) for every node Ready and CoreDNS running,
 * and deletes the cluster when any step fails; `delete()` is idempotent. NETMAP_KIND_KEEP=1 keeps
 * clusters for debugging (delete() then only says how to remove them).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type KindNetwork = "flannel" | "kindnet";
export type ProxyMode = "iptables" | "nftables";
export type KindMode = "offline" | "online";

export interface KindClusterOptions {
  network: KindNetwork;
  proxyMode?: ProxyMode;
  /** Default: NETMAP_KIND_MODE from the environment, else "offline". */
  mode?: KindMode;
  /** The cluster's name (kind's --name); default netmap-<network>-<proxyMode>. */
  name?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Bound for nodes Ready + CoreDNS running after `kind create cluster` (default 300 s). */
  readyTimeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
}

export interface KindCluster {
  readonly name: string;
  readonly network: KindNetwork;
  readonly proxyMode: ProxyMode;
  readonly mode: KindMode;
  /** Path of the cluster's kubeconfig (a temporary file, removed by delete()). */
  readonly kubeconfig: string;
  /** Node names (the node containers' names), control plane first. */
  readonly nodes: readonly string[];
  readonly controlPlane: string;
  readonly workers: readonly string[];
  /** What prepare.sh found or built: KIND, KUBECTL, HELM, DOCKER_HOST, NODE_IMAGE, NETMAP_IMAGE, ... */
  readonly tools: Readonly<Record<string, string>>;
  /** The environment for docker/kind/kubectl against this cluster (DOCKER_HOST, KUBECONFIG). */
  readonly env: Readonly<Record<string, string>>;
  /** Runs argv on a node (`docker exec`); resolves whatever the exit code. */
  exec(node: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but throws (with the command and its stderr) unless it exits 0; returns stdout. */
  execOk(node: string, argv: readonly string[], opts?: ExecOptions): Promise<string>;
  /** Runs kubectl against the cluster; throws unless it exits 0; returns stdout. */
  kubectl(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** Loads a local image into every node (`kind load docker-image`). */
  loadImage(ref: string): Promise<void>;
  /** Deletes the cluster (idempotent). */
  delete(): Promise<void>;
}

export class KindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KindError";
  }
}

const KIND_DIR = fileURLToPath(new URL(".", import.meta.url));

/** Runs argv without a shell, bounded; stderr lines go to onStderrLine as they come. */
export function runCommand(
  argv: readonly string[],
  opts: ExecOptions & { onStderrLine?: (line: string) => void } = {},
): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new KindError("runCommand: empty argv"));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, LC_ALL: "C", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (opts.onStderrLine) {
        pending += d;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const l of lines) opts.onStderrLine(l);
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new KindError(`cannot run \`${argv.join(" ")}\`: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (opts.onStderrLine && pending) opts.onStderrLine(pending);
      resolve({ stdout, stderr, code, timedOut });
    });
    child.stdin.on("error", () => {
      // the command may exit before reading stdin; its exit status tells what happened
    });
    child.stdin.end(opts.input ?? "");
  });
}

function failure(argv: readonly string[], r: ExecResult, timeoutMs: number | undefined): KindError {
  const why = r.timedOut ? `timed out after ${timeoutMs ?? 60_000} ms` : `exit ${r.code}`;
  const out = (r.stderr.trim() || r.stdout.trim()).slice(-3000);
  return new KindError(`\`${argv.join(" ")}\` failed (${why}): ${out}`);
}

async function runOk(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0 || r.timedOut) throw failure(argv, r, opts.timeoutMs);
  return r.stdout;
}

const prepared = new Map<KindMode, Promise<Record<string, string>>>();

/**
 * Runs e2e/kind/prepare.sh for a mode once per process (cold offline: tens of minutes, see the
 * README; cached: about a minute) and returns its KEY=VALUE lines.
 */
export function prepareKind(
  mode: KindMode,
  log: (line: string) => void = defaultLog,
): Promise<Record<string, string>> {
  let p = prepared.get(mode);
  if (!p) {
    p = (async () => {
      const argv = [join(KIND_DIR, "prepare.sh"), mode];
      const r = await runCommand(argv, { timeoutMs: 90 * 60_000, onStderrLine: (l) => log(`prepare: ${l}`) });
      if (r.code !== 0 || r.timedOut) throw failure(argv, r, 90 * 60_000);
      const tools: Record<string, string> = {};
      for (const line of r.stdout.split("\n")) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m?.[1] && m[2] !== undefined) tools[m[1]] = m[2];
      }
      for (const k of [
        "KIND",
        "KUBECTL",
        "HELM",
        "DOCKER_HOST",
        "NODE_IMAGE",
        "NETMAP_IMAGE",
        "FLANNEL_MANIFEST",
      ]) {
        if (!tools[k]) throw new KindError(`prepare.sh ${mode} printed no ${k}=; its output: ${r.stdout}`);
      }
      return tools;
    })();
    prepared.set(mode, p);
    p.catch(() => prepared.delete(mode));
  }
  return p;
}

function defaultLog(line: string): void {
  process.stderr.write(`[kind ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The kind config for a network and mode: clusters/<network>.yaml with the proxy mode set. */
export async function kindConfig(
  network: KindNetwork,
  proxyMode: ProxyMode,
  tools: Readonly<Record<string, string>>,
): Promise<string> {
  const base = await readFile(join(KIND_DIR, "clusters", `${network}.yaml`), "utf8");
  if (!/^ {2}kubeProxyMode: iptables$/m.test(base)) {
    throw new KindError(`clusters/${network}.yaml has no "  kubeProxyMode: iptables" line to set`);
  }
  let config = base.replace(/^ {2}kubeProxyMode: iptables$/m, `  kubeProxyMode: ${proxyMode}`);
  const etcdTag = tools.ETCD_IMAGE_TAG;
  if (etcdTag) {
    // Offline: the etcd image carries the etcd built here under its own version (kubeadm's default
    // tag is a version the module proxy does not serve).
    config += [
      "kubeadmConfigPatches:",
      "  - |",
      "    kind: ClusterConfiguration",
      "    etcd:",
      "      local:",
      `        imageTag: "${etcdTag}"`,
      "",
    ].join("\n");
  }
  return config;
}

export async function createKindCluster(opts: KindClusterOptions): Promise<KindCluster> {
  const network = opts.network;
  const proxyMode = opts.proxyMode ?? "iptables";
  const envMode = process.env.NETMAP_KIND_MODE;
  const mode: KindMode = opts.mode ?? (envMode === "online" ? "online" : "offline");
  const name = opts.name ?? `netmap-${network}-${proxyMode}`;
  const log = opts.log ?? defaultLog;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 300_000;

  const tools = await prepareKind(mode, log);
  if (network === "kindnet" && mode === "offline" && !tools.KINDNETD_IMAGE) {
    throw new KindError(
      "offline kindnet needs kindnetd, which the Go module proxy does not serve: build kindnetd from kind's " +
        "source (images/kindnetd at the commit of its image tag) and put the binary at " +
        "$NETMAP_CACHE/kind/kindnetd/kindnetd (or NETMAP_KINDNETD_BIN), then run again; see e2e/kind/README.md",
    );
  }
  const kind = tools.KIND as string;
  const kubectlBin = tools.KUBECTL as string;
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  const kubeconfig = join(dir, "kubeconfig");
  const env: Record<string, string> = { DOCKER_HOST: tools.DOCKER_HOST as string, KUBECONFIG: kubeconfig };

  let deleted = false;
  const deleteCluster = async (): Promise<void> => {
    if (deleted) return;
    deleted = true;
    if (process.env.NETMAP_KIND_KEEP === "1") {
      log(
        `NETMAP_KIND_KEEP=1: keeping cluster ${name} (kubeconfig ${kubeconfig}); \`kind delete cluster --name ${name}\` removes it`,
      );
      return;
    }
    log(`deleting cluster ${name}`);
    const r = await runCommand([kind, "delete", "cluster", "--name", name, "--kubeconfig", kubeconfig], {
      env,
      timeoutMs: 180_000,
    });
    await rm(dir, { recursive: true, force: true });
    if (r.code !== 0) throw failure(["kind", "delete", "cluster", "--name", name], r, 180_000);
  };

  const kubectl = (args: readonly string[], o: ExecOptions = {}): Promise<string> =>
    runOk([kubectlBin, "--kubeconfig", kubeconfig, ...args], { ...o, env: { ...env, ...o.env } });
  const exec = (node: string, argv: readonly string[], o: ExecOptions = {}): Promise<ExecResult> =>
    runCommand(["docker", "exec", ...(o.input !== undefined ? ["-i"] : []), node, ...argv], {
      ...o,
      env: { ...env, ...o.env },
    });
  const execOk = async (node: string, argv: readonly string[], o: ExecOptions = {}): Promise<string> => {
    const r = await exec(node, argv, o);
    if (r.code !== 0 || r.timedOut) throw failure(["docker", "exec", node, ...argv], r, o.timeoutMs);
    return r.stdout;
  };

  try {
    // A cluster of the same name left by an interrupted run goes first.
    const existing = await runOk([kind, "get", "clusters"], { env });
    if (existing.split("\n").includes(name)) {
      log(`deleting a leftover cluster ${name}`);
      await runOk([kind, "delete", "cluster", "--name", name], { env, timeoutMs: 180_000 });
    }
    const configPath = join(dir, "kind.yaml");
    await writeFile(configPath, await kindConfig(network, proxyMode, tools));
    log(`creating cluster ${name} (${network}, kube-proxy ${proxyMode}, ${mode}, image ${tools.NODE_IMAGE})`);
    const started = Date.now();
    await runOk(
      [
        kind,
        "create",
        "cluster",
        "--name",
        name,
        "--image",
        tools.NODE_IMAGE as string,
        "--config",
        configPath,
        "--kubeconfig",
        kubeconfig,
        "--retain",
      ],
      { env, timeoutMs: 600_000 },
    ).catch(async (e: unknown) => {
      throw new KindError(`${(e as Error).message}\n${await nodeDiagnostics(kind, name, env)}`);
    });
    log(`cluster ${name}: control plane up in ${Math.round((Date.now() - started) / 1000)} s`);
    const nodes = (await runOk([kind, "get", "nodes", "--name", name], { env }))
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean)
      .sort((a, b) => Number(b.endsWith("control-plane")) - Number(a.endsWith("control-plane")));
    const controlPlane = nodes.find((n) => n.endsWith("-control-plane"));
    if (!controlPlane) throw new KindError(`cluster ${name} has no control-plane node: ${nodes.join(", ")}`);
    if (network === "flannel") {
      log(`cluster ${name}: applying flannel (${tools.FLANNEL_MANIFEST})`);
      await kubectl(["apply", "-f", tools.FLANNEL_MANIFEST as string]);
    }
    await waitReady(kubectl, readyTimeoutMs, log, name);
    log(
      `cluster ${name}: ${nodes.length} nodes Ready, CoreDNS running, ${Math.round((Date.now() - started) / 1000)} s`,
    );
    return {
      name,
      network,
      proxyMode,
      mode,
      kubeconfig,
      nodes,
      controlPlane,
      workers: nodes.filter((n) => n !== controlPlane),
      tools,
      env,
      exec,
      execOk,
      kubectl,
      loadImage: async (ref) => {
        log(`cluster ${name}: loading image ${ref}`);
        await runOk([kind, "load", "docker-image", "--name", name, ref], { env, timeoutMs: 300_000 });
      },
      delete: deleteCluster,
    };
  } catch (e) {
    let diag = "";
    try {
      diag = await kubectl(["get", "pods", "-A", "-o", "wide"], { timeoutMs: 15_000 });
    } catch {
      // no API server to ask
    }
    await deleteCluster().catch((d: unknown) => log(`cleanup after the failure: ${(d as Error).message}`));
    const msg = (e as Error).message;
    throw new KindError(
      `cluster ${name} (${network}, ${proxyMode}, ${mode}): ${msg}${diag ? `\npods:\n${diag}` : ""}`,
    );
  }
}

/** Nodes Ready and CoreDNS Ready, within the bound; on timeout the error names what is not. */
async function waitReady(
  kubectl: (args: readonly string[], o?: ExecOptions) => Promise<string>,
  timeoutMs: number,
  log: (line: string) => void,
  name: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => `${Math.max(1, Math.round((deadline - Date.now()) / 1000))}s`;
  log(`cluster ${name}: waiting for nodes Ready (at most ${left()})`);
  await kubectl(["wait", "--for=condition=Ready", "nodes", "--all", `--timeout=${left()}`], {
    timeoutMs: deadline - Date.now() + 10_000,
  }).catch(async (e: unknown) => {
    const nodes = await kubectl(["get", "nodes", "-o", "wide"]).catch(() => "");
    throw new KindError(`nodes not Ready within ${timeoutMs / 1000} s: ${(e as Error).message}\n${nodes}`);
  });
  log(`cluster ${name}: waiting for CoreDNS (at most ${left()})`);
  await kubectl(
    [
      "-n",
      "kube-system",
      "wait",
      "--for=condition=Ready",
      "pods",
      "-l",
      "k8s-app=kube-dns",
      `--timeout=${left()}`,
    ],
    { timeoutMs: deadline - Date.now() + 10_000 },
  ).catch((e: unknown) => {
    throw new KindError(`CoreDNS not running within ${timeoutMs / 1000} s: ${(e as Error).message}`);
  });
}

/** What the node containers say when kind create fails: systemd's failed units and the kubelet's log tail. */
async function nodeDiagnostics(kind: string, name: string, env: Record<string, string>): Promise<string> {
  const r = await runCommand([kind, "get", "nodes", "--name", name], { env, timeoutMs: 10_000 });
  const out: string[] = [];
  for (const node of r.stdout.split("\n").filter(Boolean)) {
    const units = await runCommand(["docker", "exec", node, "systemctl", "--failed", "--no-legend"], {
      env,
      timeoutMs: 10_000,
    });
    const kubelet = await runCommand(
      ["docker", "exec", node, "journalctl", "-u", "kubelet", "-n", "15", "--no-pager"],
      {
        env,
        timeoutMs: 10_000,
      },
    );
    out.push(`${node}: failed units: ${units.stdout.trim() || "none"}\n${kubelet.stdout.trim()}`);
  }
  return out.join("\n");
}

/** Creates a cluster, runs fn, and deletes the cluster whatever fn did. */
export async function withKindCluster<T>(
  opts: KindClusterOptions,
  fn: (c: KindCluster) => Promise<T>,
): Promise<T> {
  const cluster = await createKindCluster(opts);
  try {
    return await fn(cluster);
  } finally {
    await cluster.delete();
  }
}

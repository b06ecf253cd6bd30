/**
 * A real Kubernetes control plane on loopback for tests: etcd and kube-apiserver built from their
 * published Go modules (e2e/infra/go-tools.sh), certificates from openssl, RBAC authorization,
 * service-account tokens from the TokenRequest API. No controller-manager or scheduler runs: tests
 * create Pods with spec.nodeName set and write their status themselves.
 */
import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientCert, makeClientCert, makePki, type Pki } from "./certs.js";
import { execOk } from "./exec.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { type Logger, stderrLogger } from "./log.js";
import { freePorts, get, type TlsClient, waitFor } from "./net.js";
import { logTail, type ManagedProcess, onExit, startProcess } from "./process.js";
import { CONTROL_PLANE_TOOLS, ensureTools } from "./tools.js";

export interface ControlPlaneTools {
  kubeApiserver: string;
  kubectl: string;
  etcd: string;
}

export interface ControlPlaneOptions {
  /** Paths of the binaries; by default e2e/infra/go-tools.sh builds or finds them. */
  tools?: ControlPlaneTools;
  /** How long etcd and then kube-apiserver may take to become ready (each). Default 60 s. */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags (e.g. feature gates), appended after the harness's own. */
  extraApiServerArgs?: readonly string[];
  /** Default 10.96.0.0/16. */
  serviceClusterIpRange?: string;
  log?: Logger;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  input?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Another kubeconfig (a ServiceAccount's, a user's) instead of the admin one. */
  kubeconfig?: string;
}

export interface TokenSpec {
  namespace: string;
  serviceAccount: string;
  /** Bind the token to this Pod: if its spec.nodeName is set the token's user carries the node's name. */
  boundPod?: { namespace: string; name: string };
  /** Default 3600; the API server's minimum is 600. */
  expirationSeconds?: number;
  audiences?: readonly string[];
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** The admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfigPath: string;
  /** The temp dir with certificates, kubeconfigs, etcd's data and the logs; removed by stop(). */
  readonly dir: string;
  readonly caFile: string;
  readonly etcdUrl: string;
  readonly apiServerLog: string;
  readonly etcdLog: string;
  readonly tools: ControlPlaneTools;
  /** Runs the built kubectl with the admin kubeconfig (or opts.kubeconfig); returns stdout, throws with stderr. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<string>;
  /** A ServiceAccount token from the TokenRequest API. */
  createToken(spec: TokenSpec): Promise<string>;
  /** Writes a kubeconfig that authenticates with `token`; returns its path. */
  kubeconfigForToken(token: string, userName: string): Promise<string>;
  /** Writes a kubeconfig with a client certificate for user `userName` in `groups`; returns its path. */
  kubeconfigForUser(userName: string, groups?: readonly string[]): Promise<string>;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves once /readyz passes. */
  restartApiServer(): Promise<void>;
  /** Stops kube-apiserver and etcd and removes dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const KUBECTL_TIMEOUT_MS = 30_000;

let fileCounter = 0;

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "_");
}

async function resolveTools(opts: ControlPlaneOptions): Promise<ControlPlaneTools> {
  if (opts.tools) return opts.tools;
  const t = await ensureTools(CONTROL_PLANE_TOOLS);
  return {
    kubeApiserver: t["kube-apiserver"] as string,
    kubectl: t.kubectl as string,
    etcd: t.etcd as string,
  };
}

function etcdArgs(bin: string, dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    bin,
    "--name=netmap",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=netmap=${peer}`,
    "--initial-cluster-state=new",
    // Test data: no fsync, and a small backend quota is plenty.
    "--unsafe-no-fsync",
    "--quota-backend-bytes=2147483648",
  ];
}

function apiServerArgs(
  bin: string,
  pki: Pki,
  etcdUrl: string,
  port: number,
  dir: string,
  opts: ControlPlaneOptions,
): string[] {
  return [
    bin,
    `--etcd-servers=${etcdUrl}`,
    `--secure-port=${port}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--cert-dir=${dir}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=${opts.serviceClusterIpRange ?? "10.96.0.0/16"}`,
    "--allow-privileged=true",
    "--authorization-mode=RBAC",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    // With a loopback advertise address the endpoint reconciler would complain forever.
    "--endpoint-reconciler-type=none",
    "--profiling=false",
    ...(opts.extraApiServerArgs ?? []),
  ];
}

/** Starts etcd and kube-apiserver on free loopback ports; everything is stopped again if a step fails. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? stderrLogger();
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "netmap-cp-"));
  const unregisterDirCleanup = onExit(() => rmSync(dir, { recursive: true, force: true }));
  let etcd: ManagedProcess | undefined;
  let apiServer: ManagedProcess | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const t0 = Date.now();
    const errors: string[] = [];
    for (const p of [apiServer, etcd]) {
      if (!p) continue;
      await p
        .stop(STOP_GRACE_MS)
        .catch((e: unknown) => errors.push(e instanceof Error ? e.message : String(e)));
    }
    await rm(dir, { recursive: true, force: true });
    unregisterDirCleanup();
    log("control plane stopped", { dir, ms: Date.now() - t0 });
    if (errors.length) throw new Error(`stopping the control plane: ${errors.join("; ")}`);
  };

  try {
    const tools = await resolveTools(opts);
    log("starting control plane", { dir, kubeApiserver: tools.kubeApiserver, etcd: tools.etcd });
    const pki = await makePki(dir);
    const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const url = `https://127.0.0.1:${apiPort}`;
    const etcdLog = join(dir, "etcd.log");
    const apiServerLog = join(dir, "kube-apiserver.log");

    etcd = startProcess("etcd", etcdArgs(tools.etcd, join(dir, "etcd"), etcdPort, peerPort), etcdLog);
    log("etcd started", { pid: etcd.pid, url: etcdUrl });
    const etcdProc = etcd;
    await waitFor(
      "etcd /health",
      async () => {
        const r = await get(`${etcdUrl}/health`, 2_000);
        return r.status === 200 && r.body.includes('"health":"true"');
      },
      {
        timeoutMs: readyTimeoutMs,
        abort: etcdProc.exited.then((code) => `etcd exited (code ${code}); its log:\n${logTail(etcdLog)}`),
      },
    ).catch((e: unknown) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}\netcd log (${etcdLog}):\n${logTail(etcdLog)}`,
      );
    });
    log("etcd ready", { ms: Date.now() - started });

    const admin: ClientCert = await makeClientCert(dir, pki, "admin", "netmap-admin", ["system:masters"]);
    const tls: TlsClient = {
      ca: await readFile(pki.caCert),
      cert: await readFile(admin.cert),
      key: await readFile(admin.key),
    };
    const argv = apiServerArgs(tools.kubeApiserver, pki, etcdUrl, apiPort, dir, opts);

    const startApiServer = async (): Promise<ManagedProcess> => {
      const t0 = Date.now();
      const p = startProcess("kube-apiserver", argv, apiServerLog);
      apiServer = p;
      log("kube-apiserver started", { pid: p.pid, url });
      await waitFor(
        "kube-apiserver /readyz",
        async () => {
          const r = await get(`${url}/readyz`, 2_000, tls);
          return r.status === 200 && r.body.trim() === "ok";
        },
        {
          timeoutMs: readyTimeoutMs,
          abort: p.exited.then((code) => `kube-apiserver exited (code ${code})`),
        },
      ).catch((e: unknown) => {
        throw new Error(
          `${e instanceof Error ? e.message : String(e)}\nkube-apiserver log (${apiServerLog}):\n${logTail(apiServerLog)}`,
        );
      });
      log("kube-apiserver ready", { ms: Date.now() - t0 });
      return p;
    };
    await startApiServer();

    const kubeconfigPath = await writeKubeconfig(join(dir, "admin.kubeconfig"), {
      server: url,
      caFile: pki.caCert,
      userName: "netmap-admin",
      credentials: { clientCertificate: admin.cert, clientKey: admin.key },
    });

    const kubectl = (args: readonly string[], kopts: KubectlOptions = {}): Promise<string> =>
      execOk([tools.kubectl, `--kubeconfig=${kopts.kubeconfig ?? kubeconfigPath}`, ...args], {
        timeoutMs: kopts.timeoutMs ?? KUBECTL_TIMEOUT_MS,
        ...(kopts.input !== undefined ? { input: kopts.input } : {}),
      });

    const createToken = async (spec: TokenSpec): Promise<string> => {
      if (spec.boundPod && spec.boundPod.namespace !== spec.namespace) {
        throw new Error(
          `a token can only be bound to a Pod in the ServiceAccount's namespace (${spec.namespace}), not ${spec.boundPod.namespace}`,
        );
      }
      const args = [
        "create",
        "token",
        spec.serviceAccount,
        `--namespace=${spec.namespace}`,
        `--duration=${spec.expirationSeconds ?? 3600}s`,
        ...(spec.audiences ?? []).map((a) => `--audience=${a}`),
        ...(spec.boundPod ? ["--bound-object-kind=Pod", `--bound-object-name=${spec.boundPod.name}`] : []),
      ];
      const token = (await kubectl(args)).trim();
      log("token created", {
        serviceAccount: `${spec.namespace}/${spec.serviceAccount}`,
        boundPod: spec.boundPod ? `${spec.boundPod.namespace}/${spec.boundPod.name}` : undefined,
      });
      return token;
    };

    const kubeconfigForToken = (token: string, userName: string): Promise<string> =>
      writeKubeconfig(join(dir, `token-${safeName(userName)}-${++fileCounter}.kubeconfig`), {
        server: url,
        caFile: pki.caCert,
        userName,
        credentials: { token },
      });

    const kubeconfigForUser = async (userName: string, groups: readonly string[] = []): Promise<string> => {
      const file = `user-${safeName(userName)}-${++fileCounter}`;
      const cert = await makeClientCert(dir, pki, file, userName, groups);
      return writeKubeconfig(join(dir, `${file}.kubeconfig`), {
        server: url,
        caFile: pki.caCert,
        userName,
        credentials: { clientCertificate: cert.cert, clientKey: cert.key },
      });
    };

    const restartApiServer = async (): Promise<void> => {
      if (stopped) throw new Error("restartApiServer: the control plane is stopped");
      const t0 = Date.now();
      log("restarting kube-apiserver", { url });
      await apiServer?.stop(STOP_GRACE_MS);
      await startApiServer();
      log("kube-apiserver restarted", { ms: Date.now() - t0 });
    };

    log("control plane ready", { url, kubeconfig: kubeconfigPath, ms: Date.now() - started });
    return {
      url,
      kubeconfigPath,
      dir,
      caFile: pki.caCert,
      etcdUrl,
      apiServerLog,
      etcdLog,
      tools,
      kubectl,
      createToken,
      kubeconfigForToken,
      kubeconfigForUser,
      restartApiServer,
      stop,
    };
  } catch (e) {
    log("control plane start failed; stopping what started", { dir });
    await stop().catch(() => {});
    throw e;
  }
}

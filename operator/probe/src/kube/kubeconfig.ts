/**
 * kubeconfig as kubectl reads it (client-go's clientcmd loading rules), for clients of
 * ../agent/kube-client.ts that act for a person (kubectl-netmap) rather than a ServiceAccount:
 *
 * - `--kubeconfig FILE` reads that file only; otherwise every file of $KUBECONFIG (":"-separated,
 *   missing ones skipped) is merged, the first file to name a cluster, user or context and the first
 *   current-context winning; otherwise ~/.kube/config; with none of them, in a pod, the
 *   ServiceAccount (in-cluster config).
 * - `--context NAME` or current-context picks the cluster, the user and the namespace ("default"
 *   when the context has none).
 * - Paths in a file (certificate-authority, client-certificate, client-key, tokenFile, an exec
 *   command with a "/") are relative to that file's directory.
 * - Users authenticate with a token, a token file (re-read per request), a client certificate and
 *   key (files or -data), or an exec credential plugin (./exec-credential.ts), run when the first
 *   request needs it and again on `target({ refresh: true })` (after a 401, as client-go does).
 *
 * What kubectl does and this does not is refused with a message, never silently skipped:
 * auth-provider, basic auth, impersonation (as/as-groups), proxy-url.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { inClusterTarget, type KubeTarget } from "../agent/kube-client.js";
import { type ExecConfig, type ExecCredential, KubeconfigError, runExecPlugin } from "./exec-credential.js";

export interface RawCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
  "disable-compression"?: boolean;
  extensions?: Array<{ name: string; extension?: unknown }>;
}

export interface RawUser {
  token?: string;
  tokenFile?: string;
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  exec?: ExecConfig | null;
  "auth-provider"?: { name?: string } | null;
  username?: string;
  password?: string;
  as?: string;
  "as-groups"?: string[];
  "as-uid"?: string;
}

export interface RawContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

export interface RawConfig {
  "current-context"?: string;
  clusters?: Array<{ name: string; cluster?: RawCluster }> | null;
  users?: Array<{ name: string; user?: RawUser }> | null;
  contexts?: Array<{ name: string; context?: RawContext }> | null;
}

/** An entry and the directory of the file that defined it (for its relative paths). */
interface Defined<T> {
  value: T;
  dir: string;
  file: string;
}

/** Several kubeconfig files merged by clientcmd's rules. */
export interface MergedKubeconfig {
  files: string[];
  currentContext?: string;
  clusters: Map<string, Defined<RawCluster>>;
  users: Map<string, Defined<RawUser>>;
  contexts: Map<string, Defined<RawContext>>;
}

/** Where to read the configuration from, as kubectl's flags and environment say. */
export interface KubeconfigOptions {
  /** --kubeconfig: this file only. */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT; also the environment of exec plugins. */
  env: NodeJS.ProcessEnv;
  /** Whether stdin is a terminal an exec plugin may prompt on. */
  stdinIsTerminal?: boolean;
  userAgent?: string;
}

/** A context resolved to where and as whom to connect. */
export interface KubeConnection {
  /** The context's name ("" in-cluster). */
  context: string;
  cluster: string;
  user: string;
  server: string;
  /** The context's namespace, else "default". */
  namespace: string;
  /** The files the configuration came from, in precedence order (empty in-cluster). */
  files: string[];
  /** Whether the credentials come from an exec plugin (a 401 is worth one refresh). */
  refreshable: boolean;
  /** The target with credentials; an exec plugin runs on the first call, when expired, and on refresh. */
  target(opts?: { refresh?: boolean }): Promise<KubeTarget>;
}

/** The files kubectl would read: --kubeconfig, else $KUBECONFIG's existing files, else ~/.kube/config if it exists. */
export function kubeconfigFiles(opts: Pick<KubeconfigOptions, "kubeconfig" | "env">): string[] {
  if (opts.kubeconfig) {
    const file = resolve(opts.kubeconfig);
    if (!existsSync(file))
      throw new KubeconfigError(
        `--kubeconfig ${opts.kubeconfig}: no such file`,
        "pass the path of an existing kubeconfig file",
      );
    return [file];
  }
  const list = opts.env.KUBECONFIG;
  if (list !== undefined && list !== "") {
    const files = new Set(
      list
        .split(":")
        .filter((p) => p !== "")
        .map((p) => resolve(p)),
    );
    return [...files].filter((p) => existsSync(p));
  }
  const home = opts.env.HOME || homedir();
  const file = join(home, ".kube", "config");
  return existsSync(file) ? [file] : [];
}

/** Parses one kubeconfig file (YAML or JSON). */
export async function parseKubeconfig(text: string, file: string): Promise<RawConfig> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const { parse } = await import("yaml");
    try {
      value = parse(text);
    } catch (err) {
      throw new KubeconfigError(
        `${file} is not a kubeconfig: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
        "kubectl config view --kubeconfig FILE shows whether kubectl can read it",
      );
    }
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new KubeconfigError(`${file} is not a kubeconfig (not a mapping)`, "check the file's contents");
  return value as RawConfig;
}

/** Merges parsed files in precedence order: the first to define a name or current-context wins. */
export function mergeKubeconfigs(
  files: ReadonlyArray<{ file: string; config: RawConfig }>,
): MergedKubeconfig {
  const merged: MergedKubeconfig = {
    files: files.map((f) => f.file),
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const { file, config } of files) {
    const dir = dirname(file);
    if (!merged.currentContext && config["current-context"])
      merged.currentContext = config["current-context"];
    for (const c of config.clusters ?? [])
      if (c?.name && !merged.clusters.has(c.name))
        merged.clusters.set(c.name, { value: c.cluster ?? {}, dir, file });
    for (const u of config.users ?? [])
      if (u?.name && !merged.users.has(u.name)) merged.users.set(u.name, { value: u.user ?? {}, dir, file });
    for (const c of config.contexts ?? [])
      if (c?.name && !merged.contexts.has(c.name))
        merged.contexts.set(c.name, { value: c.context ?? {}, dir, file });
  }
  return merged;
}

function fileList(files: readonly string[]): string {
  return files.length === 1 ? (files[0] as string) : `${files.join(", ")} (merged)`;
}

function readFile(path: string, dir: string, what: string, owner: string): Buffer {
  const full = isAbsolute(path) ? path : join(dir, path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new KubeconfigError(
      `${owner}: cannot read its ${what} ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      "fix the path in the kubeconfig (relative paths are relative to the kubeconfig file)",
    );
  }
}

function base64(data: string, what: string, owner: string): Buffer {
  const buf = Buffer.from(data, "base64");
  if (buf.length === 0)
    throw new KubeconfigError(`${owner}: ${what} is not base64`, "fix the value in the kubeconfig");
  return buf;
}

/** Refuses what kubectl supports and this client does not, instead of connecting as someone else. */
function checkSupported(user: RawUser, name: string, cluster: RawCluster, clusterName: string): void {
  const provider = user["auth-provider"];
  if (provider)
    throw new KubeconfigError(
      `user ${name} authenticates with auth-provider "${provider.name ?? "?"}", which kubectl netmap does not support`,
      "use an exec credential plugin instead (for OIDC: kubelogin, `kubectl oidc-login`; GKE: gke-gcloud-auth-plugin; AKS: kubelogin)",
    );
  if (user.username !== undefined || user.password !== undefined)
    throw new KubeconfigError(
      `user ${name} uses basic authentication (username/password), which Kubernetes removed in 1.19`,
      "use a token, a client certificate or an exec credential plugin",
    );
  if (user.as !== undefined || user["as-groups"] !== undefined || user["as-uid"] !== undefined)
    throw new KubeconfigError(
      `user ${name} impersonates another user (as/as-groups), which kubectl netmap does not support`,
      "use a context whose user is the identity you want to act as",
    );
  if (cluster["proxy-url"])
    throw new KubeconfigError(
      `cluster ${clusterName} is reached through proxy-url ${cluster["proxy-url"]}, which kubectl netmap does not support`,
      "run `kubectl proxy` and use a kubeconfig whose server is http://127.0.0.1:8001",
    );
}

function execClusterInfo(cluster: RawCluster, ca: Buffer | undefined) {
  const config = cluster.extensions?.find((e) => e.name === "client.authentication.k8s.io/exec")?.extension;
  return {
    server: cluster.server ?? "",
    ...(cluster["tls-server-name"] ? { "tls-server-name": cluster["tls-server-name"] } : {}),
    ...(cluster["insecure-skip-tls-verify"] ? { "insecure-skip-tls-verify": true } : {}),
    ...(ca ? { "certificate-authority-data": ca.toString("base64") } : {}),
    ...(cluster["disable-compression"] ? { "disable-compression": true } : {}),
    ...(config !== undefined ? { config } : {}),
  };
}

/** Resolves a context of a merged configuration to a connection. */
export function connectionFor(
  merged: MergedKubeconfig,
  opts: Omit<KubeconfigOptions, "kubeconfig">,
): KubeConnection {
  const where = fileList(merged.files);
  const names = [...merged.contexts.keys()];
  const contextName = opts.context ?? merged.currentContext;
  if (!contextName)
    throw new KubeconfigError(
      `no current context in ${where}`,
      names.length
        ? `pick one with --context (${names.join(", ")}) or kubectl config use-context NAME`
        : "the kubeconfig has no contexts: kubectl config set-context, or get a kubeconfig for your cluster",
    );
  const ctx = merged.contexts.get(contextName);
  if (!ctx)
    throw new KubeconfigError(
      `context "${contextName}" not found in ${where}`,
      names.length ? `its contexts: ${names.join(", ")}` : "it has no contexts",
    );
  const clusterName = ctx.value.cluster ?? "";
  const cluster = merged.clusters.get(clusterName);
  if (!cluster)
    throw new KubeconfigError(
      `context "${contextName}" names cluster "${clusterName}", which is not in ${where}`,
      "kubectl config view shows the clusters; fix the context's cluster",
    );
  const userName = ctx.value.user ?? "";
  const user = merged.users.get(userName);
  if (userName && !user)
    throw new KubeconfigError(
      `context "${contextName}" names user "${userName}", which is not in ${where}`,
      "kubectl config view shows the users; fix the context's user",
    );
  const c = cluster.value;
  const u = user?.value ?? {};
  checkSupported(u, userName, c, clusterName);
  const server = c.server;
  if (!server)
    throw new KubeconfigError(
      `cluster "${clusterName}" has no server`,
      "kubectl config set-cluster NAME --server=https://…",
    );
  try {
    new URL(server);
  } catch {
    throw new KubeconfigError(
      `cluster "${clusterName}" has a server that is not a URL: ${server}`,
      "the server is https://host:port",
    );
  }
  const clusterOwner = `cluster "${clusterName}" (${cluster.file})`;
  const ca = c["certificate-authority-data"]
    ? base64(c["certificate-authority-data"], "certificate-authority-data", clusterOwner)
    : c["certificate-authority"]
      ? readFile(c["certificate-authority"], cluster.dir, "certificate-authority", clusterOwner)
      : undefined;
  const userOwner = `user "${userName}" (${user?.file ?? where})`;
  const userDir = user?.dir ?? cluster.dir;
  const cert = u["client-certificate-data"]
    ? base64(u["client-certificate-data"], "client-certificate-data", userOwner)
    : u["client-certificate"]
      ? readFile(u["client-certificate"], userDir, "client-certificate", userOwner)
      : undefined;
  const key = u["client-key-data"]
    ? base64(u["client-key-data"], "client-key-data", userOwner)
    : u["client-key"]
      ? readFile(u["client-key"], userDir, "client-key", userOwner)
      : undefined;
  if (!!cert !== !!key)
    throw new KubeconfigError(
      `${userOwner} has a client certificate without its key (or a key without its certificate)`,
      "set both client-certificate and client-key (or their -data forms)",
    );
  const tokenFile = u.tokenFile
    ? isAbsolute(u.tokenFile)
      ? u.tokenFile
      : join(userDir, u.tokenFile)
    : undefined;
  if (tokenFile && !u.token) readFile(tokenFile, userDir, "tokenFile", userOwner);
  const base: KubeTarget = {
    server,
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(c["insecure-skip-tls-verify"] ? { insecureSkipTlsVerify: true } : {}),
    ...(c["tls-server-name"] ? { tlsServerName: c["tls-server-name"] } : {}),
    ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
  };
  if (u.token) {
    const token = u.token;
    base.token = () => token;
  } else if (tokenFile) {
    base.token = () => readFileSync(tokenFile, "utf8").trim();
  }
  const exec = u.exec ?? undefined;
  let cached: ExecCredential | undefined;
  const target = async (t: { refresh?: boolean } = {}): Promise<KubeTarget> => {
    if (!exec) return base;
    const expired = cached?.expiresAt !== undefined && cached.expiresAt.getTime() - Date.now() < 10_000;
    if (!cached || expired || t.refresh)
      cached = await runExecPlugin(exec, {
        dir: userDir,
        user: userName,
        cluster: execClusterInfo(c, ca),
        stdinIsTerminal: opts.stdinIsTerminal === true,
        env: opts.env,
      });
    const cred = cached;
    return {
      ...base,
      ...(cred.cert && cred.key ? { cert: cred.cert, key: cred.key } : {}),
      ...(cred.token ? { token: () => cred.token } : {}),
    };
  };
  return {
    context: contextName,
    cluster: clusterName,
    user: userName,
    server,
    namespace: ctx.value.namespace || "default",
    files: merged.files,
    refreshable: exec !== undefined,
    target,
  };
}

const SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** The connection kubectl would use with these flags and this environment. */
export async function loadKubeconfig(opts: KubeconfigOptions): Promise<KubeConnection> {
  const files = kubeconfigFiles(opts);
  if (files.length === 0) {
    if (opts.env.KUBERNETES_SERVICE_HOST && existsSync(SA_NAMESPACE)) {
      const target = {
        ...inClusterTarget(opts.env),
        ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
      };
      return {
        context: "",
        cluster: "in-cluster",
        user: "serviceaccount",
        server: target.server,
        namespace: readFileSync(SA_NAMESPACE, "utf8").trim() || "default",
        files: [],
        refreshable: false,
        target: async () => target,
      };
    }
    const wanted = opts.env.KUBECONFIG
      ? `none of the files in KUBECONFIG (${opts.env.KUBECONFIG}) exists`
      : `${join(opts.env.HOME || homedir(), ".kube", "config")} does not exist`;
    throw new KubeconfigError(
      `no kubeconfig: ${wanted}`,
      "pass --kubeconfig FILE or set KUBECONFIG (kubectl config view shows what kubectl uses)",
    );
  }
  const parsed = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new KubeconfigError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        "check the file's permissions",
      );
    }
    parsed.push({ file, config: await parseKubeconfig(text, file) });
  }
  return connectionFor(mergeKubeconfigs(parsed), opts);
}

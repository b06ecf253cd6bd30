/**
 * The probe's Kubernetes client: get, watch, create, delete and merge-patch over node:https, nothing
 * else. The probe idles on every node of a cluster, so it stays small: @kubernetes/client-node alone
 * takes ~110 MB RSS to load (measured with the probe's V8 flags), more than the probe's whole budget.
 * kubectl-netmap uses the same client (through `@netmap/probe/kube`, with the full kubeconfig loader
 * of ../kube/kubeconfig.ts: contexts, client certificates, exec credential plugins).
 *
 * Credentials: in a pod, the ServiceAccount token file (re-read for every request: kubelet rotates
 * bound tokens) and the cluster CA; in tests, a kubeconfig with a token (the ServiceAccount token
 * the test requested for this probe's node).
 */
import { readFileSync } from "node:fs";
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from "node:http";
import { Agent, type RequestOptions, request } from "node:https";

export interface KubeTarget {
  /** https://host:port (http://host:port for a local `kubectl proxy`) */
  server: string;
  /** The cluster's CA (PEM); undefined: the system's roots, as kubectl does without one. */
  ca?: Buffer;
  /** The bearer token, read on each request; undefined or "": no Authorization header. */
  token?: () => string | undefined;
  /** A client certificate and its key (PEM), for users a certificate authenticates. */
  cert?: Buffer;
  key?: Buffer;
  /** Do not verify the server's certificate (kubeconfig insecure-skip-tls-verify). */
  insecureSkipTlsVerify?: boolean;
  /** The name the server's certificate is checked against, sent as SNI (kubeconfig tls-server-name). */
  tlsServerName?: string;
  /** The User-Agent header; default netmap-probe. */
  userAgent?: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** In-cluster: KUBERNETES_SERVICE_HOST/PORT and the mounted ServiceAccount token and CA. */
export function inClusterTarget(env: NodeJS.ProcessEnv = process.env): KubeTarget {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("not in a cluster (KUBERNETES_SERVICE_HOST is unset): pass --kubeconfig PATH");
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    server,
    ca: readFileSync(`${SA_DIR}/ca.crt`),
    token: () => readFileSync(`${SA_DIR}/token`, "utf8").trim(),
  };
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{
    name: string;
    cluster: { server: string; "certificate-authority-data"?: string; "certificate-authority"?: string };
  }>;
  users?: Array<{ name: string; user: { token?: string; tokenFile?: string } }>;
}

/** A kubeconfig's current context, authenticated by a token (or a token file). JSON, or YAML. */
export async function kubeconfigTarget(path: string): Promise<KubeTarget> {
  const text = readFileSync(path, "utf8");
  let cfg: KubeconfigFile;
  try {
    cfg = JSON.parse(text) as KubeconfigFile;
  } catch {
    // YAML only when needed: in a cluster the probe never loads a YAML parser.
    const { parse } = await import("yaml");
    cfg = parse(text) as KubeconfigFile;
  }
  const ctxName = cfg["current-context"];
  const ctx = cfg.contexts?.find((c) => c.name === ctxName)?.context ?? cfg.contexts?.[0]?.context;
  if (!ctx) throw new Error(`${path}: no context`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = cfg.users?.find((u) => u.name === ctx.user)?.user;
  if (!cluster || !user) throw new Error(`${path}: context names a cluster or user that is not there`);
  const ca = cluster["certificate-authority-data"]
    ? Buffer.from(cluster["certificate-authority-data"], "base64")
    : cluster["certificate-authority"]
      ? readFileSync(cluster["certificate-authority"])
      : undefined;
  if (!ca) throw new Error(`${path}: the cluster has no certificate authority`);
  const { token, tokenFile } = user;
  if (!token && !tokenFile)
    throw new Error(`${path}: the probe authenticates with a token (user.token or user.tokenFile)`);
  return {
    server: cluster.server,
    ca,
    token: token ? () => token : () => readFileSync(tokenFile as string, "utf8").trim(),
  };
}

/** What a Status object (the API server's error body) says besides its message. */
export interface ApiErrorDetails {
  /** The Status reason: NotFound, Forbidden, AlreadyExists, Invalid, Expired, … */
  reason?: string;
  /** The server's message alone, without "HTTP 403: ". */
  serverMessage?: string;
  /** Status.details: the object the error is about (absent, e.g., for a resource type the server does not know). */
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ message?: string; field?: string }>;
  };
}

/** An API error with its HTTP status and the server's message. */
export class ApiError extends Error {
  readonly reason: string | undefined;
  readonly serverMessage: string | undefined;
  readonly details: ApiErrorDetails["details"];

  constructor(
    readonly status: number,
    message: string,
    extra: ApiErrorDetails = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.reason = extra.reason;
    this.serverMessage = extra.serverMessage;
    this.details = extra.details;
  }
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export class KubeClient {
  private readonly agent: Agent | HttpAgent;
  private readonly send: (
    url: URL,
    options: RequestOptions,
    cb: (res: IncomingMessage) => void,
  ) => ClientRequest;

  constructor(private readonly target: KubeTarget) {
    if (new URL(target.server).protocol === "http:") {
      this.agent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
      this.send = httpRequest;
      return;
    }
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(target.ca ? { ca: target.ca } : {}),
      ...(target.cert && target.key ? { cert: target.cert, key: target.key } : {}),
      ...(target.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
      ...(target.tlsServerName ? { servername: target.tlsServerName } : {}),
    });
    this.send = request;
  }

  /** GET a JSON document. */
  async get<T>(path: string): Promise<T> {
    return this.json<T>("GET", path);
  }

  /** POST a JSON document (create); resolves to the object the server stored. */
  async create<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>("POST", path, body, "application/json");
  }

  /** DELETE an object; resolves to what the server answers (the object, or a Status). */
  async delete<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>("DELETE", path, body, body === undefined ? undefined : "application/json");
  }

  /** A JSON merge patch (application/merge-patch+json). */
  async mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>("PATCH", path, body, "application/merge-patch+json");
  }

  /**
   * Watches `path` (a collection URL with its query) and calls onEvent per event until the server
   * ends the watch (resolves) or the connection fails (rejects). `abort` ends it early.
   */
  watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.send(
        this.url(path),
        { method: "GET", agent: this.agent, headers: this.headers(), ...(signal ? { signal } : {}) },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            readBody(res).then((b) => reject(apiError(res.statusCode ?? 0, b)), reject);
            return;
          }
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buf += chunk;
            for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              try {
                onEvent(JSON.parse(line) as WatchEvent<T>);
              } catch (err) {
                req.destroy(err instanceof Error ? err : new Error(String(err)));
                return;
              }
            }
          });
          res.on("end", () => resolve());
          res.on("error", reject);
        },
      );
      req.on("error", (err) => {
        if (signal?.aborted) resolve();
        else reject(err);
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private url(path: string): URL {
    return new URL(path, this.target.server);
  }

  private headers(contentType?: string): Record<string, string> {
    const token = this.target.token?.();
    return {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      accept: "application/json",
      "user-agent": this.target.userAgent ?? "netmap-probe",
      ...(contentType ? { "content-type": contentType } : {}),
    };
  }

  private json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.send(
        this.url(path),
        {
          method,
          agent: this.agent,
          headers: this.headers(contentType),
          timeout: 30_000,
        },
        (res) => {
          readBody(res).then((text) => {
            if ((res.statusCode ?? 0) >= 300) reject(apiError(res.statusCode ?? 0, text));
            else resolve(JSON.parse(text) as T);
          }, reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on("error", reject);
      req.end(data);
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      text += c;
    });
    res.on("end", () => resolve(text));
    res.on("error", reject);
  });
}

function apiError(status: number, body: string): ApiError {
  let message = body.trim();
  const extra: ApiErrorDetails = {};
  try {
    const s = JSON.parse(body) as { message?: string; reason?: string; details?: ApiErrorDetails["details"] };
    if (s.message) message = s.message;
    if (s.reason) extra.reason = s.reason;
    if (s.details) extra.details = s.details;
  } catch {
    // not a Status object: keep the text
  }
  extra.serverMessage = message;
  return new ApiError(status, `HTTP ${status}: ${message}`, extra);
}

/**
 * The API server's answers, and failures to reach it, as errors that say what to do next: which
 * verb on which resource was refused and how to check it (`kubectl auth can-i`), that the
 * NetworkTrace API is not installed, that the credentials were not accepted, that the server
 * cannot be reached or its certificate not trusted. Exit codes follow cli/errors.ts: a refusal of
 * the request itself (CEL) is input (1); everything that keeps a trace from running is 2.
 */
import { CliError, TraceFailedError, UsageError } from "../cli/errors.js";

/** What the plugin was doing when the API server answered: `kubectl auth can-i` terms. */
export interface ApiAction {
  verb: "create" | "get" | "list" | "watch" | "delete";
  /** Plural, with the group for non-core resources: "networktraces.netmap.io", "pods". */
  resource: string;
  /** Absent for cluster-scoped resources (nodes). */
  namespace?: string;
  name?: string;
}

/** Where the plugin talks to, for messages and the commands in hints. */
export interface ApiWhere {
  server: string;
  /** The kubeconfig context ("" in-cluster). */
  context: string;
  user: string;
}

/** The fields of the shared client's ApiError this module reads (matched by shape, not class). */
export interface ApiErrorLike {
  status: number;
  message: string;
  reason?: string | undefined;
  serverMessage?: string | undefined;
  details?: { name?: string; kind?: string; group?: string } | undefined;
}

/** True for an ApiError of @netmap/probe/kube (an HTTP answer from the API server). */
export function isApiError(err: unknown): err is ApiErrorLike & Error {
  return (
    err instanceof Error &&
    err.name === "ApiError" &&
    typeof (err as { status?: unknown }).status === "number"
  );
}

export const NETWORK_TRACES = "networktraces.netmap.io";
export const NETWORK_TRACE_SEGMENTS = "networktracesegments.netmap.io";

/** `--context X` for commands in hints, when a context was used. */
function contextFlag(where: ApiWhere): string {
  return where.context ? ` --context ${where.context}` : "";
}

function nsFlag(action: ApiAction): string {
  return action.namespace ? ` -n ${action.namespace}` : "";
}

const INSTALL =
  "install netmap (the CRDs, the operator and its probes): helm install netmap charts/netmap -n netmap --create-namespace";

/** The permissions the online form needs, for 403 hints. */
export const NEEDED_PERMISSIONS =
  "kubectl netmap needs create, get, watch and delete on networktraces.netmap.io in the trace's namespace (and list, watch on networktracesegments.netmap.io for per-node progress, get, list on pods and services to check names)";

/** True when a 404 is about the resource type (no CRD), not about one object of it. */
export function isResourceMissing(err: ApiErrorLike): boolean {
  // An unknown group/version answers "404 page not found" (no Status), an unknown resource of a
  // known group a Status with no details.name; a missing object or namespace names it.
  return err.status === 404 && !err.details?.name;
}

/** Maps an error from the API server (or from trying to reach it) to a CliError. */
export function explainApiError(err: unknown, action: ApiAction, where: ApiWhere): CliError {
  if (err instanceof CliError) return err;
  const what = `${action.verb} ${action.resource}${action.name ? ` ${action.name}` : ""}${action.namespace ? ` in namespace ${action.namespace}` : ""}`;
  if (isApiError(err)) {
    const said = err.serverMessage ?? err.message;
    switch (err.status) {
      case 401:
        return new TraceFailedError(
          `the API server at ${where.server} did not accept the credentials of user "${where.user}"${where.context ? ` (context ${where.context})` : ""}: ${said}`,
          {
            hint: `log in again or refresh the kubeconfig; \`kubectl${contextFlag(where)} get --raw /version\` fails the same way until then`,
          },
        );
      case 403:
        return new TraceFailedError(`you may not ${what}: ${said}`, {
          hint: `check with \`kubectl${contextFlag(where)} auth can-i ${action.verb} ${action.resource}${nsFlag(action)}\`; ${NEEDED_PERMISSIONS}: ask a cluster admin for a Role that grants them`,
        });
      case 404:
        if (action.resource === NETWORK_TRACES && isResourceMissing(err))
          return new TraceFailedError(
            `the NetworkTrace API (${NETWORK_TRACES}/v1alpha1) is not installed in this cluster: the API server at ${where.server} answers 404 for it`,
            {
              hint: `${INSTALL}; \`kubectl${contextFlag(where)} get crd ${NETWORK_TRACES}\` shows whether it is there`,
            },
          );
        if (err.details?.kind === "namespaces")
          return new UsageError(
            `namespace ${err.details.name} does not exist`,
            `kubectl${contextFlag(where)} get namespaces lists them; pass -n NAMESPACE`,
          );
        return new UsageError(`${what}: not found (${said})`);
      case 409:
        return new TraceFailedError(`cannot ${what}: ${said}`, { hint: "run the command again" });
      case 422:
        return new UsageError(`the API server refused the NetworkTrace: ${said}`);
      default:
        return new TraceFailedError(`cannot ${what}: ${err.message}`, {
          hint: `the API server's own message is above; \`kubectl${contextFlag(where)} get --raw /readyz\` shows whether it is healthy`,
        });
    }
  }
  return unreachable(err, where);
}

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_SIGNATURE_FAILURE",
]);

/** The API server could not be reached, or its certificate not trusted. */
export function unreachable(
  err: unknown,
  where: ApiWhere,
  env: NodeJS.ProcessEnv = process.env,
): TraceFailedError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  const detail = err instanceof Error ? err.message : String(err);
  if (TLS_CODES.has(code))
    return new TraceFailedError(
      `the API server at ${where.server} presented a certificate that is not trusted: ${detail}`,
      {
        hint: "check the cluster's certificate-authority(-data) and tls-server-name in the kubeconfig (kubectl config view --minify)",
      },
    );
  const proxy = env.HTTPS_PROXY || env.https_proxy;
  return new TraceFailedError(`cannot reach the API server at ${where.server}: ${detail}`, {
    hint: `is the cluster up, and is ${where.context ? `context ${where.context}` : "this"} the right one? \`kubectl${contextFlag(where)} get --raw /readyz\`, \`kubectl config current-context\`${proxy ? `; HTTPS_PROXY is set, and kubectl netmap connects directly: run \`kubectl proxy\` and point a kubeconfig at http://127.0.0.1:8001` : ""}`,
    cause: err,
  });
}

/** True for failures that retrying may cure: the connection, or the server busy or starting. */
export function isConnectionError(err: unknown): boolean {
  // 429: too many requests, or "storage is (re)initializing" while an API server starts.
  if (isApiError(err)) return err.status === 429 || (err.status >= 500 && err.status !== 501);
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (TLS_CODES.has(code)) return false;
  return (
    err instanceof Error &&
    (code.startsWith("E") || /socket hang up|no answer within|aborted|terminated/i.test(err.message))
  );
}

/**
 * NetworkTrace objects over the API server: create, get, delete, and follow — a watch on the one
 * object (fieldSelector metadata.name, bookmarks on), never polling. A watch the server ends or the
 * network drops resumes from the last resourceVersion seen (events and bookmarks both move it);
 * when that version is too old for the server (410 Gone, as an HTTP status or an ERROR event) the
 * object is listed again and the watch starts from the list's version, as client-go's reflector does.
 */
import { API_VERSION, GROUP, NETWORK_TRACE, type NetworkTrace, VERSION } from "@netmap/api";
import type { WatchEvent } from "@netmap/probe/kube";
import type { Cluster } from "./cluster.js";
import { type ApiAction, isApiError, isConnectionError, NETWORK_TRACES } from "./errors.js";
import type { PlannedTrace } from "./plan.js";

/** The collection URL of NetworkTraces in `namespace`, or one object's. */
export function tracePath(namespace: string, name?: string): string {
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${NETWORK_TRACE.plural}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

function action(verb: ApiAction["verb"], namespace: string, name?: string): ApiAction {
  return { verb, resource: NETWORK_TRACES, namespace, ...(name !== undefined ? { name } : {}) };
}

/** Labels kubectl-netmap puts on the traces it creates. */
export const CREATED_BY = { "app.kubernetes.io/managed-by": "kubectl-netmap" } as const;

export async function createTrace(cluster: Cluster, plan: PlannedTrace): Promise<NetworkTrace> {
  const body: NetworkTrace = {
    apiVersion: API_VERSION,
    kind: NETWORK_TRACE.kind,
    metadata: { generateName: plan.generateName, namespace: plan.namespace, labels: { ...CREATED_BY } },
    spec: plan.spec,
  };
  return cluster.create<NetworkTrace>(tracePath(plan.namespace), body, action("create", plan.namespace));
}

export async function getTrace(cluster: Cluster, namespace: string, name: string): Promise<NetworkTrace> {
  return cluster.get<NetworkTrace>(tracePath(namespace, name), action("get", namespace, name));
}

/** Deletes a trace (its segments go with it: the operator deletes them, and they have owner references). */
export async function deleteTrace(cluster: Cluster, namespace: string, name: string): Promise<void> {
  await cluster.delete(tracePath(namespace, name), action("delete", namespace, name), {
    apiVersion: "v1",
    kind: "DeleteOptions",
    propagationPolicy: "Background",
  });
}

/** What happened while following, for progress lines and tests. */
export interface FollowStats {
  /** Watch requests made (1 + resumptions). */
  watches: number;
  /** Times the version was too old (410 Gone) and the object was read again. */
  relists: number;
  /** Connection failures retried. */
  reconnects: number;
}

/** Receives every version of the object; returns true when it has seen enough. */
export type OnTrace = (trace: NetworkTrace) => boolean;

/** The object went away while followed. */
export class TraceDeletedError extends Error {
  override readonly name = "TraceDeletedError";
}

interface StatusObject {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

class Gone extends Error {}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

export interface FollowOptions {
  signal: AbortSignal;
  /** Called when the connection fails and the watch will be retried (for a progress line). */
  onReconnect?: (err: unknown) => void;
  /** Seconds the server keeps one watch request open (it then ends it and we resume). Default 60. */
  watchSeconds?: number;
  /** Counted into as following goes (a fresh one by default). */
  stats?: FollowStats;
}

/**
 * Follows `trace` from its resourceVersion until `onTrace` returns true or `signal` aborts.
 * Rejects with TraceDeletedError when it is deleted, with a CliError for answers that retrying
 * cannot change (403, 404, …). Connection failures are retried with back-off until `signal` aborts.
 */
export async function followTrace(
  cluster: Cluster,
  trace: NetworkTrace,
  onTrace: OnTrace,
  opts: FollowOptions,
): Promise<FollowStats> {
  const namespace = trace.metadata.namespace ?? "";
  const name = trace.metadata.name ?? "";
  const stats: FollowStats = opts.stats ?? { watches: 0, relists: 0, reconnects: 0 };
  const done = new AbortController();
  const stop = () => done.abort();
  opts.signal.addEventListener("abort", stop);
  let rv = trace.metadata.resourceVersion ?? "";
  let backoffMs = 250;
  const deleted = () =>
    new TraceDeletedError(`NetworkTrace ${namespace}/${name} was deleted while kubectl netmap waited for it`);
  const seen = (t: NetworkTrace): void => {
    rv = t.metadata.resourceVersion ?? rv;
    if (onTrace(t)) done.abort();
  };
  try {
    seen(trace);
    let relist = false;
    while (!done.signal.aborted) {
      try {
        if (relist) {
          // A list, not a get: its resourceVersion is the collection's, which a new watch cache (after
          // an API server restart) has; the object's own may be older than the cache and be Gone again.
          const list = await cluster.getRaw<{
            metadata?: { resourceVersion?: string };
            items?: NetworkTrace[];
          }>(`${tracePath(namespace)}?${new URLSearchParams({ fieldSelector: `metadata.name=${name}` })}`);
          const current = list.items?.[0];
          if (!current) throw deleted();
          seen(current);
          rv = list.metadata?.resourceVersion ?? rv;
          relist = false;
          if (done.signal.aborted) break;
        }
        const query = new URLSearchParams({
          watch: "true",
          fieldSelector: `metadata.name=${name}`,
          allowWatchBookmarks: "true",
          timeoutSeconds: String(opts.watchSeconds ?? 60),
          ...(rv ? { resourceVersion: rv } : {}),
        });
        stats.watches++;
        await cluster.watch<NetworkTrace | StatusObject>(
          `${tracePath(namespace)}?${query}`,
          (e: WatchEvent<NetworkTrace | StatusObject>) => {
            if (done.signal.aborted) return;
            if (e.type === "ERROR") {
              const s = e.object as StatusObject;
              if (s.code === 410) throw new Gone(s.message);
              throw Object.assign(new Error(s.message ?? "watch error"), {
                name: "ApiError",
                status: s.code ?? 500,
                reason: s.reason,
                serverMessage: s.message,
              });
            }
            const t = e.object as NetworkTrace;
            if (e.type === "BOOKMARK") {
              rv = t.metadata?.resourceVersion ?? rv;
              return;
            }
            if (e.type === "DELETED") throw deleted();
            seen(t);
          },
          done.signal,
        );
        backoffMs = 250;
      } catch (err) {
        if (done.signal.aborted) break;
        if (err instanceof TraceDeletedError) throw err;
        if (err instanceof Gone || (isApiError(err) && err.status === 410)) {
          stats.relists++;
          relist = true;
          continue;
        }
        if (!isConnectionError(err)) throw cluster.explain(err, action("watch", namespace, name));
        stats.reconnects++;
        opts.onReconnect?.(err);
        await sleep(backoffMs, done.signal);
        backoffMs = Math.min(backoffMs * 2, 4000);
      }
    }
    return stats;
  } finally {
    opts.signal.removeEventListener("abort", stop);
  }
}

/**
 * NetworkTrace objects over the API server: create, get, delete, and follow — a watch on the one
 * object (fieldSelector metadata.name) and on its NetworkTraceSegments (label netmap.io/trace-uid),
 * never polling (./list-watch.ts resumes, relists after 410 Gone, reconnects).
 */
import {
  API_VERSION,
  GROUP,
  LABELS,
  NETWORK_TRACE,
  NETWORK_TRACE_SEGMENT,
  type NetworkTrace,
  type NetworkTraceSegment,
  VERSION,
} from "@netmap/api";
import type { Cluster } from "./cluster.js";
import { type ApiAction, NETWORK_TRACE_SEGMENTS, NETWORK_TRACES } from "./errors.js";
import { type FollowStats, type ListWatchOptions, listWatch } from "./list-watch.js";
import type { PlannedTrace } from "./plan.js";

export type { FollowStats } from "./list-watch.js";

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

/** Receives every version of the object; returns true when it has seen enough. */
export type OnTrace = (trace: NetworkTrace) => boolean;

/** The object went away while followed. */
export class TraceDeletedError extends Error {
  override readonly name = "TraceDeletedError";
}

/**
 * Follows `trace` from its resourceVersion (list-watch.ts) until `onTrace` returns true or the
 * signal aborts. Rejects with TraceDeletedError when it is deleted, with a CliError for answers that
 * retrying cannot change (403, 404, …).
 */
export function followTrace(
  cluster: Cluster,
  trace: NetworkTrace,
  onTrace: OnTrace,
  opts: ListWatchOptions,
): Promise<FollowStats> {
  const namespace = trace.metadata.namespace ?? "";
  const name = trace.metadata.name ?? "";
  const deleted = () =>
    new TraceDeletedError(`NetworkTrace ${namespace}/${name} was deleted while kubectl netmap waited for it`);
  if (onTrace(trace)) return Promise.resolve(opts.stats ?? { watches: 0, relists: 0, reconnects: 0 });
  return listWatch<NetworkTrace>(
    cluster,
    {
      path: tracePath(namespace),
      fieldSelector: `metadata.name=${name}`,
      action: action("watch", namespace, name),
      ...(trace.metadata.resourceVersion ? { resourceVersion: trace.metadata.resourceVersion } : {}),
    },
    {
      onList: (items) => {
        const current = items[0];
        if (!current) throw deleted();
        return onTrace(current);
      },
      onEvent: (type, t) => {
        if (type === "DELETED") throw deleted();
        return onTrace(t);
      },
    },
    opts,
  );
}

/** The collection URL of NetworkTraceSegments in `namespace`. */
export function segmentPath(namespace: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${NETWORK_TRACE_SEGMENT.plural}`;
}

/**
 * Follows the NetworkTraceSegments of `trace` (label netmap.io/trace-uid): one per node walk, each
 * written by its node's probe — the progress the operator does not copy into the trace's status.
 * `onChange` gets them all, by step, at every change.
 */
export function followSegments(
  cluster: Cluster,
  trace: NetworkTrace,
  onChange: (segments: NetworkTraceSegment[]) => void,
  opts: ListWatchOptions,
): Promise<FollowStats> {
  const namespace = trace.metadata.namespace ?? "";
  const byName = new Map<string, NetworkTraceSegment>();
  const changed = (): undefined => {
    onChange([...byName.values()].sort((a, b) => a.spec.task.step - b.spec.task.step));
    return undefined;
  };
  return listWatch<NetworkTraceSegment>(
    cluster,
    {
      path: segmentPath(namespace),
      labelSelector: `${LABELS.traceUid}=${trace.metadata.uid ?? ""}`,
      action: { verb: "watch", resource: NETWORK_TRACE_SEGMENTS, namespace },
    },
    {
      onList: (items) => {
        byName.clear();
        for (const s of items) byName.set(s.metadata.name ?? "", s);
        return changed();
      },
      onEvent: (type, s) => {
        if (type === "DELETED") byName.delete(s.metadata.name ?? "");
        else byName.set(s.metadata.name ?? "", s);
        return changed();
      },
    },
    opts,
  );
}

/**
 * List-then-watch of a selection of objects, as client-go's reflector does it, never polling: a
 * list (or a known resourceVersion) to start from, then watches (bookmarks on) that resume from the
 * last resourceVersion seen when the server ends one or the connection drops (with back-off), and a
 * new list when that version is too old for the server (410 Gone, as an HTTP status or an ERROR
 * event: after an API server restart its new watch cache starts later). The list's own
 * resourceVersion is the one to watch from: an object's may be older than the cache.
 */
import type { WatchEvent } from "@netmap/probe/kube";
import type { Cluster } from "./cluster.js";
import { type ApiAction, isApiError, isConnectionError } from "./errors.js";

/** What happened while following, for progress lines and tests. */
export interface FollowStats {
  /** Watch requests made (1 + resumptions). */
  watches: number;
  /** Times the version was too old (410 Gone) and the selection was listed again. */
  relists: number;
  /** Connection failures retried. */
  reconnects: number;
}

export interface ListWatchOptions {
  signal: AbortSignal;
  /** Called when the connection fails and the watch will be retried (for a progress line). */
  onReconnect?: (err: unknown) => void;
  /** Seconds the server keeps one watch request open (it then ends it and we resume). Default 60. */
  watchSeconds?: number;
  /** Counted into as following goes. */
  stats?: FollowStats;
}

/** What to follow. */
export interface Selection {
  /** The collection URL, e.g. /apis/netmap.io/v1alpha1/namespaces/x/networktraces. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** For messages when the server refuses. */
  action: ApiAction;
  /** Start watching from here without a first list. */
  resourceVersion?: string;
}

/** Receives the selection's state; returning true ends following. */
export interface ListWatchHandlers<T> {
  /** A (re)list: every object selected now. */
  onList(items: T[]): boolean | undefined;
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: T): boolean | undefined;
}

interface Listed<T> {
  metadata?: { resourceVersion?: string };
  items?: T[];
}

interface StatusObject {
  code?: number;
  reason?: string;
  message?: string;
}

interface Versioned {
  metadata?: { resourceVersion?: string };
}

class Gone extends Error {}

/** An error a handler threw: it ends following as it is. */
class HandlerFailure {
  constructor(readonly error: unknown) {}
}

function call<R>(f: () => R): R {
  try {
    return f();
  } catch (err) {
    throw new HandlerFailure(err);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * Follows `selection` until a handler returns true or `signal` aborts. Errors that retrying cannot
 * change (403, 404, …) reject as a CliError; errors the handlers throw reject as they are.
 */
export async function listWatch<T extends Versioned>(
  cluster: Cluster,
  selection: Selection,
  handlers: ListWatchHandlers<T>,
  opts: ListWatchOptions,
): Promise<FollowStats> {
  const stats = opts.stats ?? { watches: 0, relists: 0, reconnects: 0 };
  const done = new AbortController();
  const stop = () => done.abort();
  opts.signal.addEventListener("abort", stop);
  const selectors = {
    ...(selection.fieldSelector ? { fieldSelector: selection.fieldSelector } : {}),
    ...(selection.labelSelector ? { labelSelector: selection.labelSelector } : {}),
  };
  let rv = selection.resourceVersion ?? "";
  let list = rv === "";
  let backoffMs = 250;
  try {
    while (!done.signal.aborted) {
      try {
        if (list) {
          const listed = await cluster.getRaw<Listed<T>>(
            `${selection.path}?${new URLSearchParams(selectors)}`,
          );
          rv = listed.metadata?.resourceVersion ?? "";
          list = false;
          if (call(() => handlers.onList(listed.items ?? []))) break;
        }
        const query = new URLSearchParams({
          ...selectors,
          watch: "true",
          allowWatchBookmarks: "true",
          timeoutSeconds: String(opts.watchSeconds ?? 60),
          ...(rv ? { resourceVersion: rv } : {}),
        });
        stats.watches++;
        await cluster.watch<T | StatusObject>(
          `${selection.path}?${query}`,
          (e: WatchEvent<T | StatusObject>) => {
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
            const object = e.object as T;
            rv = object.metadata?.resourceVersion ?? rv;
            if (e.type === "BOOKMARK") return;
            if (call(() => handlers.onEvent(e.type as "ADDED" | "MODIFIED" | "DELETED", object)))
              done.abort();
          },
          done.signal,
        );
        backoffMs = 250;
      } catch (err) {
        if (err instanceof HandlerFailure) throw err.error;
        if (done.signal.aborted) break;
        if (err instanceof Gone || (isApiError(err) && err.status === 410)) {
          stats.relists++;
          list = true;
          continue;
        }
        if (!isConnectionError(err)) throw cluster.explain(err, selection.action);
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

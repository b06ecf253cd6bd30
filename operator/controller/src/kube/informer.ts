/**
 * An informer that keeps going: client-node's ListWatch relists by itself only after a 410 Gone;
 * any other watch or list error stops it (it calls the error handlers and returns). This wrapper
 * starts it again after a back-off (1 s doubling to 30 s, reset once a list succeeds), so a cut
 * watch, an API server restart or a timeout only delays events. Each restart lists again, and the
 * cache reports what changed meanwhile as add/update/delete events.
 */
import {
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import { errorMessage, type Logger } from "../observe/log.js";

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The watch path, e.g. /api/v1/pods or /apis/netmap.io/v1alpha1/networktraces. */
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  /** Called on every restart after an error (for metrics). */
  onRestart?: () => void;
}

export type ObjectHandler<T> = (obj: T) => void;

export class ResilientInformer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private stopped = false;
  private delayMs = 1000;
  private timer: NodeJS.Timeout | undefined;
  private hasSynced = false;
  private syncWaiters: Array<() => void> = [];

  constructor(private readonly opts: ResilientInformerOptions<T>) {
    this.lw = new ListWatch<T>(
      opts.path,
      new Watch(opts.kc),
      opts.list,
      false,
      opts.labelSelector,
      opts.fieldSelector,
    );
    this.lw.on("error", (err?: unknown) => this.restartLater(err));
    this.lw.on("connect", () => {
      this.delayMs = 1000;
    });
  }

  on(event: "add" | "update" | "delete", handler: ObjectHandler<T>): void {
    this.lw.on(event, handler);
  }

  /** Lists and starts watching; resolves after the first list (or keeps retrying until stop()). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.startOnce();
    return this.synced();
  }

  /** Resolves once a first list has succeeded. */
  synced(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get isSynced(): boolean {
    return this.hasSynced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.lw.stop();
  }

  private async startOnce(): Promise<void> {
    // Relist on every (re)start, as client-go's reflector does after any watch error: what changed
    // while the watch was down comes back as add/update/delete. ListWatch keeps its resourceVersion
    // private and would otherwise resume the watch from it.
    (this.lw as unknown as { resourceVersion: string }).resourceVersion = "";
    try {
      await this.lw.start();
      // start() also returns normally when its list failed (the error handler was told).
      if (this.lw.latestResourceVersion() !== "") this.markSynced();
    } catch (err) {
      // ListWatch.start() rejects when its first list fails; the error handler schedules the retry.
      this.restartLater(err);
    }
  }

  private markSynced(): void {
    if (this.hasSynced) return;
    this.hasSynced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private restartLater(err: unknown): void {
    if (this.stopped || this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(30_000, this.delayMs * 2);
    this.opts.log.warn("watch stopped; listing and watching again", {
      path: this.opts.path,
      error: errorMessage(err),
      retryMs: delay,
    });
    this.opts.onRestart?.();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) void this.startOnce();
    }, delay);
    this.timer.unref();
  }
}

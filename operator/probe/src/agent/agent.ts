/**
 * The probe agent: watches the NetworkTraceSegments of its own node only (field selector
 * spec.nodeName, no polling), walks each one that has no result yet, and writes the result to that
 * segment's status subresource — the one thing the probe ever writes. Idle, it is a single open
 * watch: no timer runs and no CPU is spent.
 *
 * The watch is listed and started again after any error (a 410 Gone, a cut connection, an API
 * server restart), with a back-off from 1 s to 30 s; segments that arrived meanwhile come with the
 * list. A segment is walked at most once at a time, and not again once it has a status.
 */
import {
  GROUP,
  NETWORK_TRACE_SEGMENT,
  type NetworkTraceSegment,
  type NetworkTraceSegmentStatus,
  SEGMENT_NODE_FIELD,
  VERSION,
} from "@netmap/api";
import { walkFailure } from "./failure.js";
import { ApiError, type KubeClient, type WatchEvent } from "./kube-client.js";
import type { ProbeLogger } from "./log.js";
import { NodeStateCache, nodeCollector, type WalkNode, walkSegment } from "./walk-segment.js";

export interface AgentOptions {
  client: KubeClient;
  node: string;
  hostNetns: string;
  walkNode: WalkNode;
  log: ProbeLogger;
  /** Who answers, written to status.probe (the pod name in a cluster). */
  identity: string;
  /** How long a read of the node serves later walks, ms (NodeStateCache). Default 1000; 0: read for every walk. */
  stateTtlMs?: number;
}

interface SegmentList {
  metadata: { resourceVersion: string };
  items: NetworkTraceSegment[];
}

const COLLECTION = `/apis/${GROUP}/${VERSION}/${NETWORK_TRACE_SEGMENT.plural}`;
/** Status writes in flight at most (walks wait beyond that). */
const MAX_WRITES = 32;

export class ProbeAgent {
  private readonly pending: NetworkTraceSegment[] = [];
  /** uids queued or being walked. */
  private readonly busy = new Set<string>();
  /** performance.now() when each queued segment arrived (a read started later is fresh enough for it). */
  private readonly arrivedAt = new Map<string, number>();
  /** uids answered by this process (the watch may show them once more before the status lands). */
  private readonly answered = new Set<string>();
  private active = 0;
  private stopped = false;
  private abort: AbortController | undefined;
  private resourceVersion = "";
  /** Walks finished (for tests and logs). */
  walked = 0;
  /** Walks share the node's state, so they run one at a time (each is milliseconds of pure code). */
  private readonly concurrency = 1;
  private readonly state: NodeStateCache;
  /** Pod names of this node, from the last segment's facts (labels the captured pod netns). */
  private knownPods: Array<{ namespace: string; name: string; ips: string[] }> = [];

  constructor(private readonly o: AgentOptions) {
    this.state = new NodeStateCache(
      o.stateTtlMs ?? 1000,
      nodeCollector(o.node, o.hostNetns, () => this.knownPods),
    );
  }

  private selector(): string {
    return `fieldSelector=${encodeURIComponent(`${SEGMENT_NODE_FIELD}=${this.o.node}`)}`;
  }

  /** Lists and watches until stop(); resolves after stop(). */
  async run(): Promise<void> {
    let delay = 1000;
    while (!this.stopped) {
      try {
        await this.listAndWatch();
        delay = 1000;
      } catch (err) {
        if (this.stopped) break;
        this.o.log.warn("watch failed; listing again", { error: String(err), retryMs: delay });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(30_000, delay * 2);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.state.release();
  }

  private async listAndWatch(): Promise<void> {
    const list = await this.o.client.get<SegmentList>(`${COLLECTION}?${this.selector()}`);
    this.resourceVersion = list.metadata.resourceVersion;
    for (const s of list.items) this.offer(s);
    this.o.log.info("watching this node's trace segments", {
      node: this.o.node,
      listed: list.items.length,
      resourceVersion: this.resourceVersion,
    });
    // A watch ends when the server closes it (its timeout): resume from the last version seen.
    while (!this.stopped) {
      this.abort = new AbortController();
      let gone = false;
      await this.o.client.watch<NetworkTraceSegment | { code?: number; message?: string }>(
        `${COLLECTION}?${this.selector()}&watch=1&allowWatchBookmarks=true&resourceVersion=${this.resourceVersion}`,
        (e: WatchEvent<NetworkTraceSegment | { code?: number; message?: string }>) => {
          if (e.type === "ERROR") {
            const status = e.object as { code?: number; message?: string };
            if (status.code === 410) gone = true;
            else throw new Error(`watch error ${status.code}: ${status.message}`);
            this.abort?.abort();
            return;
          }
          const seg = e.object as NetworkTraceSegment;
          if (seg.metadata?.resourceVersion) this.resourceVersion = seg.metadata.resourceVersion;
          if (e.type === "ADDED" || e.type === "MODIFIED") this.offer(seg);
          if (e.type === "DELETED") this.answered.delete(seg.metadata.uid ?? "");
        },
        this.abort.signal,
      );
      if (gone) return; // relist
    }
  }

  private offer(seg: NetworkTraceSegment): void {
    const uid = seg.metadata.uid ?? "";
    if (seg.status?.phase || this.busy.has(uid) || this.answered.has(uid)) return;
    if (seg.spec.nodeName !== this.o.node) return; // the selector says so; never write another node's part
    this.busy.add(uid);
    this.arrivedAt.set(uid, performance.now());
    this.pending.push(seg);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.writing < MAX_WRITES && this.pending.length > 0) {
      const seg = this.pending.shift() as NetworkTraceSegment;
      this.active++;
      void this.walk(seg).then((status) => {
        this.active--;
        // The next walk starts while this result is written (writes are most of a walk's wall time
        // on a busy API server); the segment stays busy until its status is in.
        this.writing++;
        void this.write(seg, status).finally(() => {
          this.writing--;
          this.busy.delete(seg.metadata.uid ?? "");
          this.pump();
        });
        this.pump();
      });
    }
  }

  /** Status writes in flight. */
  private writing = 0;

  private async walk(seg: NetworkTraceSegment): Promise<NetworkTraceSegmentStatus> {
    const started = new Date();
    const name = `${seg.metadata.namespace}/${seg.metadata.name}`;
    let status: NetworkTraceSegmentStatus;
    try {
      this.knownPods = seg.spec.facts.pods.filter((p) => p.node === this.o.node);
      const uid = seg.metadata.uid ?? "";
      const arrivedAt = this.arrivedAt.get(uid);
      this.arrivedAt.delete(uid);
      const { result, timings } = await walkSegment({
        node: this.o.node,
        task: seg.spec.task,
        facts: seg.spec.facts,
        walkNode: this.o.walkNode,
        state: this.state,
        ...(arrivedAt !== undefined ? { arrivedAt } : {}),
        // One read of the node serves this walk and the ones queued behind it.
        queued: this.pending.map((p) => ({ task: p.spec.task, facts: p.spec.facts })),
      });
      status = {
        phase: "Succeeded",
        result,
        probe: this.o.identity,
        startTime: started.toISOString(),
        completionTime: new Date().toISOString(),
        timings,
      };
      this.o.log.info("walked", {
        segment: name,
        step: seg.spec.task.step,
        direction: seg.spec.task.direction,
        hops: result.hops.length,
        end: result.end.kind,
        ...timings,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      status = {
        phase: "Failed",
        message: walkFailure(err, this.o.node, this.o.identity),
        probe: this.o.identity,
        startTime: started.toISOString(),
        completionTime: new Date().toISOString(),
      };
      this.o.log.error("walk failed", { segment: name, error: message });
    }
    return status;
  }

  private async write(seg: NetworkTraceSegment, status: NetworkTraceSegmentStatus): Promise<void> {
    const name = `${seg.metadata.namespace}/${seg.metadata.name}`;
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${seg.metadata.namespace}/${NETWORK_TRACE_SEGMENT.plural}/${seg.metadata.name}/status`;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.client.mergePatch(path, { status });
        this.answered.add(seg.metadata.uid ?? "");
        this.walked++;
        return;
      } catch (err) {
        // Throttled (429), the server busy or restarting (5xx, no connection): try again, a few
        // times. Anything else (404: the trace is gone; 403; 422) is final for this walk.
        const status = err instanceof ApiError ? err.status : 0;
        const retry = (status === 0 || status === 429 || status >= 500) && attempt < 6 && !this.stopped;
        this.o.log.warn("could not write the segment's status", {
          segment: name,
          error: String(err),
          ...(retry ? { retryMs: 200 * 2 ** (attempt - 1) } : {}),
        });
        if (!retry) return;
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
      }
    }
  }
}

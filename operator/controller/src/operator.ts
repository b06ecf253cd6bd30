/**
 * The operator: informers over NetworkTraces, their segments, and the cluster objects a trace is
 * resolved against; two work queues (traces, probe configurations) with one reconcile in flight per
 * object; the writers that bind the reconcilers to the API server. Only the leader reconciles; a
 * standby keeps its caches warm and is ready to take over.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1DaemonSet,
  type V1EndpointSlice,
  type V1Node,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";
import {
  GROUP,
  LABELS,
  NETWORK_TRACE,
  NETWORK_TRACE_SEGMENT,
  type NetworkTrace,
  type NetworkTraceSegment,
  type NetworkTraceStatus,
  VERSION,
} from "@netmap/api";
import { ResilientInformer } from "./kube/informer.js";
import { WorkQueue } from "./kube/queue.js";
import { errorMessage, type Logger } from "./observe/log.js";
import type { OperatorMetrics } from "./observe/metrics.js";
import { CONFIG_LABEL } from "./probes/config.js";
import { ProbeReconciler } from "./probes/reconcile.js";
import { answerSeconds, type NextStep, TraceReconciler } from "./trace/reconcile.js";
import type { ClusterView } from "./trace/resolve.js";

export interface OperatorOptions {
  kc: KubeConfig;
  /** The operator's namespace: probe configuration ConfigMaps and the probe DaemonSet live here. */
  namespace: string;
  nextStep: NextStep;
  metrics: OperatorMetrics;
  log: Logger;
  /** Concurrent trace reconciles (each object has at most one in flight). Default 16. */
  workers?: number;
  /** The component name on Events. */
  component?: string;
}

type Obj = KubernetesObject;
const key = (o: { metadata?: { namespace?: string; name?: string } }): string =>
  `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
const split = (k: string): [string, string] => {
  const i = k.indexOf("/");
  return [k.slice(0, i), k.slice(i + 1)];
};

export class Operator {
  readonly traceQueue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 30_000 });
  readonly probeQueue = new WorkQueue({ baseDelayMs: 1000, maxDelayMs: 60_000 });
  private readonly informers: Array<ResilientInformer<Obj>> = [];
  private readonly traces: ResilientInformer<NetworkTrace & Obj>;
  private readonly segments: ResilientInformer<NetworkTraceSegment & Obj>;
  private readonly pods: ResilientInformer<V1Pod>;
  private readonly services: ResilientInformer<V1Service>;
  private readonly slices: ResilientInformer<V1EndpointSlice>;
  private readonly nodes: ResilientInformer<V1Node>;
  private readonly configMaps: ResilientInformer<V1ConfigMap>;
  private readonly daemonSets: ResilientInformer<V1DaemonSet>;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  readonly traceReconciler: TraceReconciler;
  readonly probeReconciler: ProbeReconciler;
  private running: Promise<unknown> | undefined;
  private readonly component: string;

  constructor(private readonly o: OperatorOptions) {
    const { kc, namespace, log } = o;
    this.component = o.component ?? "netmap-operator";
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const custom = this.custom;
    const informer = <T extends Obj>(
      resource: string,
      path: string,
      list: () => Promise<KubernetesListObject<T>>,
      labelSelector?: string,
    ): ResilientInformer<T> => {
      const inf = new ResilientInformer<T>({
        kc,
        path,
        list,
        ...(labelSelector ? { labelSelector } : {}),
        log: log.with({ informer: resource }),
        onRestart: () => o.metrics.watchRestarts.inc({ resource }),
      });
      this.informers.push(inf as unknown as ResilientInformer<Obj>);
      return inf;
    };
    const g = { group: GROUP, version: VERSION };
    this.traces = informer("networktraces", `/apis/${GROUP}/${VERSION}/${NETWORK_TRACE.plural}`, () =>
      custom.listClusterCustomObject({ ...g, plural: NETWORK_TRACE.plural }),
    );
    this.segments = informer(
      "networktracesegments",
      `/apis/${GROUP}/${VERSION}/${NETWORK_TRACE_SEGMENT.plural}`,
      () => custom.listClusterCustomObject({ ...g, plural: NETWORK_TRACE_SEGMENT.plural }),
    );
    this.pods = informer("pods", "/api/v1/pods", () => this.core.listPodForAllNamespaces());
    this.services = informer("services", "/api/v1/services", () => this.core.listServiceForAllNamespaces());
    this.slices = informer("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", () =>
      discovery.listEndpointSliceForAllNamespaces(),
    );
    this.nodes = informer("nodes", "/api/v1/nodes", () => this.core.listNode());
    this.configMaps = informer(
      "configmaps",
      `/api/v1/namespaces/${namespace}/configmaps`,
      () => this.core.listNamespacedConfigMap({ namespace, labelSelector: `${CONFIG_LABEL}=true` }),
      `${CONFIG_LABEL}=true`,
    );
    this.daemonSets = informer(
      "daemonsets",
      `/apis/apps/v1/namespaces/${namespace}/daemonsets`,
      () =>
        this.apps.listNamespacedDaemonSet({
          namespace,
          labelSelector: `${LABELS.managedBy}=netmap-operator`,
        }),
      `${LABELS.managedBy}=netmap-operator`,
    );

    const view: ClusterView = {
      pod: (ns, name) => this.pods.get(name, ns),
      pods: (ns) => this.pods.list(ns),
      service: (ns, name) => this.services.get(name, ns),
      services: (ns) => this.services.list(ns),
      endpointSlices: (ns, svc) =>
        this.slices.list(ns).filter((s) => s.metadata?.labels?.["kubernetes.io/service-name"] === svc),
      node: (name) => this.nodes.get(name),
      nodes: () => this.nodes.list(),
    };
    this.traceReconciler = new TraceReconciler({
      view,
      trace: (ns, name) => this.traces.get(name, ns),
      segments: (ns, uid) =>
        this.segments.list(ns).filter((s) => s.metadata?.labels?.[LABELS.traceUid] === uid),
      writer: {
        patchStatus: (t, status) => this.patchTraceStatus(t, status),
        createSegment: (s) => this.createSegment(s),
        deleteTrace: (t) => this.deleteTrace(t),
        deleteSegments: (ns, uid) => this.deleteSegments(ns, uid),
        event: (t, type, reason, message) =>
          this.event({ apiVersion: t.apiVersion, kind: t.kind, metadata: t.metadata }, type, reason, message),
      },
      nextStep: o.nextStep,
      metrics: o.metrics,
      log: log.with({ controller: "networktrace" }),
    });
    this.probeReconciler = new ProbeReconciler({
      configMap: (ns, name) => this.configMaps.get(name, ns),
      daemonSet: (ns, name) => this.daemonSets.get(name, ns),
      writer: {
        create: async (ds) => {
          await this.apps.createNamespacedDaemonSet({ namespace, body: ds });
        },
        replace: async (ds) => {
          await this.apps.replaceNamespacedDaemonSet({ namespace, name: ds.metadata?.name ?? "", body: ds });
        },
        delete: (ns, name) => ignoreNotFound(this.apps.deleteNamespacedDaemonSet({ namespace: ns, name })),
        event: (cm, type, reason, message) =>
          this.event(
            { apiVersion: "v1", kind: "ConfigMap", metadata: cm.metadata ?? {} },
            type,
            reason,
            message,
          ),
      },
      log: log.with({ controller: "probe-daemonset" }),
    });

    const enqueueTrace = (t: Obj) => this.traceQueue.add(key(t));
    this.traces.on("add", enqueueTrace);
    this.traces.on("update", enqueueTrace);
    this.traces.on("delete", (t) => void this.traceDeleted(t));
    const segmentChanged = (s: NetworkTraceSegment & Obj) => {
      this.traceQueue.add(`${s.metadata.namespace ?? ""}/${s.spec.trace.name}`);
    };
    this.segments.on("add", segmentChanged);
    this.segments.on("update", (s) => {
      const answered = answerSeconds(s);
      if (answered !== undefined && !this.answered.has(s.metadata.uid ?? "")) {
        this.answered.add(s.metadata.uid ?? "");
        o.metrics.nodeAnswer.observe({ node: s.spec.nodeName }, answered);
      }
      segmentChanged(s);
    });
    this.segments.on("delete", (s) => this.answered.delete(s.metadata.uid ?? ""));
    const enqueueProbe = (o2: Obj) => this.probeQueue.add(key(o2));
    this.configMaps.on("add", enqueueProbe);
    this.configMaps.on("update", enqueueProbe);
    this.configMaps.on("delete", enqueueProbe);
    this.daemonSets.on("delete", enqueueProbe);
    this.daemonSets.on("update", enqueueProbe);
    this.daemonSets.on("add", enqueueProbe);
  }

  private readonly answered = new Set<string>();

  private async traceDeleted(t: NetworkTrace): Promise<void> {
    try {
      await this.traceReconciler.deleted(t);
    } catch (err) {
      this.o.log.warn("could not delete the segments of a deleted trace", {
        trace: key(t),
        error: errorMessage(err),
      });
    }
  }

  /** All informers have listed once. */
  get synced(): boolean {
    return this.informers.every((i) => i.isSynced);
  }

  /** Starts the informers (the caches fill; nothing is reconciled yet). */
  async startInformers(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  /** Starts reconciling (the leader only); runs until stop(). */
  startWorkers(): void {
    const log = this.o.log;
    const m = this.o.metrics;
    const depth = setInterval(() => {
      m.queueDepth.set({ queue: "networktraces" }, this.traceQueue.depth);
      m.queueDepth.set({ queue: "probe-configs" }, this.probeQueue.depth);
    }, 1000);
    depth.unref();
    // Everything listed before this replica led is looked at once.
    for (const t of this.traces.list()) this.traceQueue.add(key(t));
    for (const c of this.configMaps.list()) this.probeQueue.add(key(c));
    for (const d of this.daemonSets.list()) this.probeQueue.add(key(d));
    this.sweepOrphanSegments().catch((err: unknown) =>
      log.warn("orphan sweep failed", { error: errorMessage(err) }),
    );
    const traces = this.traceQueue.run(
      this.o.workers ?? 16,
      async (k) => {
        const [ns, name] = split(k);
        const r = await this.traceReconciler.reconcile(ns, name);
        m.reconciles.inc({ controller: "networktrace", result: "ok" });
        if (r.requeueAfterMs !== undefined) this.traceQueue.addAfter(k, r.requeueAfterMs + 50);
      },
      (k, err, retryMs) => {
        m.reconciles.inc({ controller: "networktrace", result: "error" });
        log.warn("reconcile failed; retrying", { trace: k, error: errorMessage(err), retryMs });
      },
    );
    const probes = this.probeQueue.run(
      1,
      async (k) => {
        const [ns, name] = split(k);
        await this.probeReconciler.reconcile(ns, name);
        m.reconciles.inc({ controller: "probe-daemonset", result: "ok" });
      },
      (k, err, retryMs) => {
        m.reconciles.inc({ controller: "probe-daemonset", result: "error" });
        log.warn("probe DaemonSet reconcile failed; retrying", {
          configMap: k,
          error: errorMessage(err),
          retryMs,
        });
      },
    );
    this.running = Promise.all([traces, probes]).finally(() => clearInterval(depth));
  }

  async stop(): Promise<void> {
    this.traceQueue.shutDown();
    this.probeQueue.shutDown();
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.running;
  }

  /** Segments whose trace is gone (deleted while no operator ran): deleted. */
  private async sweepOrphanSegments(): Promise<void> {
    const live = new Set(this.traces.list().map((t) => t.metadata.uid));
    const orphans = new Map<string, string>();
    for (const s of this.segments.list()) {
      const uid = s.metadata.labels?.[LABELS.traceUid] ?? "";
      if (!live.has(uid)) orphans.set(uid, s.metadata.namespace ?? "");
    }
    for (const [uid, ns] of orphans) await this.deleteSegments(ns, uid);
    if (orphans.size)
      this.o.log.info("deleted the segments of traces that are gone", { traces: orphans.size });
  }

  private async patchTraceStatus(t: NetworkTrace, status: NetworkTraceStatus): Promise<NetworkTrace> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: NETWORK_TRACE.plural,
        namespace: t.metadata.namespace ?? "",
        name: t.metadata.name ?? "",
        body: { status },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as NetworkTrace;
  }

  private async createSegment(s: NetworkTraceSegment): Promise<void> {
    try {
      await this.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: NETWORK_TRACE_SEGMENT.plural,
        namespace: s.metadata.namespace ?? "",
        body: s,
      });
    } catch (err) {
      // Created by an earlier run whose write the cache has not seen yet.
      if (err instanceof ApiException && err.code === 409) return;
      throw err;
    }
  }

  private deleteTrace(t: NetworkTrace): Promise<void> {
    return ignoreNotFound(
      this.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: NETWORK_TRACE.plural,
        namespace: t.metadata.namespace ?? "",
        name: t.metadata.name ?? "",
      }),
    );
  }

  private deleteSegments(namespace: string, traceUid: string): Promise<void> {
    if (!traceUid) return Promise.resolve();
    return ignoreNotFound(
      this.custom.deleteCollectionNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: NETWORK_TRACE_SEGMENT.plural,
        namespace,
        labelSelector: `${LABELS.traceUid}=${traceUid}`,
      }),
    );
  }

  private async event(
    obj: { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string; uid?: string } },
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = obj.metadata.namespace ?? "default";
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${obj.metadata.name ?? "netmap"}.`, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name ?? "",
            namespace,
            uid: obj.metadata.uid ?? "",
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: this.component,
          reportingInstance: this.component,
        },
      });
    } catch (err) {
      // An Event is a courtesy: never fail a reconcile for it.
      this.o.log.warn("could not record an Event", {
        reason,
        object: obj.metadata.name,
        error: errorMessage(err),
      });
    }
  }
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return;
    throw err;
  }
}

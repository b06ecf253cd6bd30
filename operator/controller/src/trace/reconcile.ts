/**
 * The NetworkTrace reconciler. Stateless: each run reads the trace and its segments and decides the
 * one next thing, so a restarted operator (or a new leader) carries on where the last one stopped.
 *
 *   no phase        → resolve source and destination (Failed with the reason when that fails),
 *                     record the request, Running
 *   Running         → the node results so far (segments with a result, in step order) go to the
 *                     engine's nextStep: either the next node's task (create its segment, wait for
 *                     that node's probe) or the finished TraceResult (Succeeded); a segment whose
 *                     probe failed, or the trace's deadline passing, fails the trace naming the node
 *   Succeeded/Failed → deleted (with its segments) once ttlSecondsAfterFinished has passed
 */
import {
  DEFAULTS,
  isFinished,
  LABELS,
  type NetworkTrace,
  type NetworkTraceSegment,
  type NetworkTraceStatus,
  type NodeStepStatus,
  segmentName,
} from "@netmap/api";
import type { NodeTask, NodeWalkResult, TraceRequest, TraceResult } from "@netmap/core";
import type { Logger } from "../observe/log.js";
import type { OperatorMetrics } from "../observe/metrics.js";
import { setCondition } from "./conditions.js";
import { factsFor } from "./facts.js";
import { notReady } from "./node-ready.js";
import { type ClusterView, ResolveError, resolveTrace } from "./resolve.js";

/** The engine's hand-off (@netmap/core nextStep): the next node task, or the finished result. */
export type NextStep = (
  request: TraceRequest,
  done: readonly NodeWalkResult[],
) => { kind: "walk"; task: NodeTask } | { kind: "done"; result: TraceResult };

/** What the reconciler writes; the operator binds it to the API server. */
export interface TraceWriter {
  patchStatus(trace: NetworkTrace, status: NetworkTraceStatus): Promise<NetworkTrace>;
  createSegment(segment: NetworkTraceSegment): Promise<void>;
  deleteTrace(trace: NetworkTrace): Promise<void>;
  deleteSegments(namespace: string, traceUid: string): Promise<void>;
  event(trace: NetworkTrace, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

export interface TraceReconcilerDeps {
  view: ClusterView;
  trace(namespace: string, name: string): NetworkTrace | undefined;
  /** The segments of a trace (by its uid), any order. */
  segments(namespace: string, traceUid: string): readonly NetworkTraceSegment[];
  writer: TraceWriter;
  nextStep: NextStep;
  metrics: OperatorMetrics;
  log: Logger;
  now?: () => Date;
}

/** When to look at the trace again (a deadline or the time-to-live); undefined: on the next event. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** An annotation on a segment: when the operator handed it over (ms precision, for answer latency). */
export const HANDED_AT = "netmap.io/handed-at";

export class TraceReconciler {
  private readonly now: () => Date;
  /** The status this replica last wrote per trace uid, newer than the informer's copy until it catches up. */
  private readonly written = new Map<string, NetworkTrace>();

  constructor(private readonly d: TraceReconcilerDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /** The informer saw the trace go away: forget it and delete its segments (no garbage collector needed). */
  async deleted(trace: NetworkTrace): Promise<void> {
    const uid = trace.metadata.uid;
    if (!uid) return;
    this.written.delete(uid);
    await this.d.writer.deleteSegments(trace.metadata.namespace ?? "", uid);
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const cached = this.d.trace(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) return {};
    const trace = this.freshest(cached);
    const status = trace.status ?? {};
    if (isFinished(status.phase)) return this.expire(trace);
    if (!status.phase || status.phase === "Pending" || !status.request) return this.start(trace);
    return this.advance(trace);
  }

  /** The informer's copy, or the one this replica wrote when the informer has not caught up. */
  private freshest(cached: NetworkTrace): NetworkTrace {
    const uid = cached.metadata.uid ?? "";
    const mine = this.written.get(uid);
    if (!mine) return cached;
    if (Number(cached.metadata.resourceVersion) >= Number(mine.metadata.resourceVersion)) {
      this.written.delete(uid);
      return cached;
    }
    return mine;
  }

  private async write(trace: NetworkTrace, status: NetworkTraceStatus): Promise<NetworkTrace> {
    const updated = await this.d.writer.patchStatus(trace, {
      ...status,
      observedGeneration: trace.metadata.generation ?? 1,
    });
    if (updated.metadata.uid) this.written.set(updated.metadata.uid, updated);
    return updated;
  }

  private async start(trace: NetworkTrace): Promise<ReconcileResult> {
    const now = this.now();
    const ns = trace.metadata.namespace ?? "";
    const generation = trace.metadata.generation ?? 1;
    let resolved: ReturnType<typeof resolveTrace>;
    try {
      resolved = resolveTrace(trace.spec, ns, this.d.view);
    } catch (err) {
      if (!(err instanceof ResolveError)) throw err;
      await this.fail(trace, err.reason, err.message, { resolvedFailed: true });
      return this.expire(this.freshest(trace));
    }
    const conditions = setCondition(
      trace.status?.conditions,
      {
        type: "Resolved",
        status: "True",
        reason: "Resolved",
        message: `${resolved.sourceText} → ${resolved.destinationText}`,
        observedGeneration: generation,
      },
      now,
    );
    // The first node's segment goes out with the same reconcile, before the one Running write.
    const first = this.d.nextStep(resolved.request, []);
    const nodes: NodeStepStatus[] = [];
    let message = `tracing from ${resolved.sourceText} to ${resolved.destinationText}`;
    if (first.kind === "walk") {
      const segment = this.segmentFor(trace, first.task, now);
      await this.d.writer.createSegment(segment);
      const { step, node, direction } = first.task;
      nodes.push({ step, node, direction, segment: segment.metadata.name ?? "", state: "Waiting" });
      message = `waiting for node ${node} (step ${step}, ${direction})`;
    }
    const updated = await this.write(trace, {
      phase: "Running",
      message,
      source: resolved.sourceText,
      destination: resolved.destinationText,
      request: resolved.request,
      startTime: now.toISOString(),
      conditions: setCondition(
        conditions,
        {
          type: "Completed",
          status: "False",
          reason: "Tracing",
          message: "waiting for the nodes on the path",
          observedGeneration: generation,
        },
        now,
      ),
      nodes,
    });
    this.d.log.info("trace started", {
      trace: `${ns}/${trace.metadata.name}`,
      source: resolved.sourceText,
      destination: resolved.destinationText,
    });
    return this.advance(updated);
  }

  private async advance(trace: NetworkTrace): Promise<ReconcileResult> {
    const status = trace.status ?? {};
    const request = status.request as TraceRequest;
    const ns = trace.metadata.namespace ?? "";
    const name = trace.metadata.name ?? "";
    const uid = trace.metadata.uid ?? "";
    const now = this.now();
    const startedAt = Date.parse(status.startTime ?? trace.metadata.creationTimestamp ?? now.toISOString());
    const deadline = startedAt + (trace.spec.timeoutSeconds ?? DEFAULTS.timeoutSeconds) * 1000;

    const byStep = new Map<number, NetworkTraceSegment>();
    for (const s of this.d.segments(ns, uid)) byStep.set(s.spec.task.step, s);
    const done: NodeWalkResult[] = [];
    const steps: NodeStepStatus[] = [];
    for (let step = 0; ; step++) {
      const seg = byStep.get(step);
      if (!seg) break;
      const st = seg.status;
      const entry: NodeStepStatus = {
        step,
        node: seg.spec.nodeName,
        direction: seg.spec.task.direction,
        segment: seg.metadata.name ?? "",
        state: st?.phase === "Succeeded" ? "Done" : st?.phase === "Failed" ? "Failed" : "Waiting",
      };
      const answered = answerSeconds(seg);
      if (answered !== undefined) entry.answerSeconds = answered;
      if (st?.phase === "Succeeded" && st.result) entry.hops = st.result.hops.length;
      steps.push(entry);
      if (st?.phase === "Failed") {
        await this.fail(
          trace,
          "ProbeFailed",
          `the probe on node ${seg.spec.nodeName} could not walk step ${step}: ${st.message ?? "no message"}`,
          { nodes: steps },
        );
        return this.expire(this.freshest(trace));
      }
      if (st?.phase !== "Succeeded" || !st.result) break;
      done.push(st.result);
    }

    const next = this.d.nextStep(request, done);
    if (next.kind === "done") {
      try {
        await this.succeed(trace, next.result, steps, startedAt);
      } catch (err) {
        // The API server refused the result (422: it does not fit the CRD's schema): retrying cannot
        // help, so the trace fails with the server's words instead of staying Running.
        if ((err as { code?: number }).code !== 422) throw err;
        await this.fail(
          trace,
          "ResultRefused",
          `the API server refused the trace's result: ${refusal(err)}`,
          {
            nodes: steps,
          },
        );
      }
      return this.expire(this.freshest(trace));
    }
    const task = next.task;
    const timeout = trace.spec.timeoutSeconds ?? DEFAULTS.timeoutSeconds;
    const late = steps[steps.length - 1];
    if (!byStep.has(task.step) && now.getTime() >= deadline && late) {
      // The previous node answered, but after the deadline: it is the one that took the time; the
      // next node is not handed a walk it could not finish.
      await this.fail(
        trace,
        "NodeDidNotAnswer",
        `node ${late.node} answered step ${late.step} (${late.direction}) only after the trace's ${timeout}s had run out${late.answerSeconds !== undefined ? ` (it took ${late.answerSeconds.toFixed(1)}s)` : ""}, so step ${task.step} on ${task.node} was never started: raise spec.timeoutSeconds (kubectl netmap --timeout), or see why ${late.node}'s probe is slow (its log)`,
        { nodes: steps },
      );
      return this.expire(this.freshest(trace));
    }
    if (!byStep.has(task.step)) {
      const segment = this.segmentFor(trace, task, now);
      await this.d.writer.createSegment(segment);
      steps.push({
        step: task.step,
        node: task.node,
        direction: task.direction,
        segment: segment.metadata.name ?? "",
        state: "Waiting",
      });
      this.d.log.info("handed to node", {
        trace: `${ns}/${name}`,
        step: task.step,
        node: task.node,
        direction: task.direction,
      });
      const unready = notReady(task.node, this.d.view.node(task.node));
      if (unready)
        await this.d.writer.event(
          trace,
          "Warning",
          "NodeNotReady",
          `step ${task.step} (${task.direction}) goes to ${unready}: its probe may not answer, and then the trace fails after ${timeout}s`,
        );
    }
    if (now.getTime() >= deadline) {
      await this.fail(
        trace,
        "NodeDidNotAnswer",
        `node ${task.node} did not answer step ${task.step} (${task.direction}) within the trace's ${timeout}s: ${unreadyNote(task.node, this.d.view)}is the netmap probe running on ${task.node}? (kubectl get pods -A -l app.kubernetes.io/component=probe --field-selector spec.nodeName=${task.node})`,
        { nodes: steps },
      );
      return this.expire(this.freshest(trace));
    }
    // No status write per step: each write costs the API server (with 100 traces at once, most of
    // their time), and the progress is in the segments themselves (label netmap.io/trace-uid), which
    // is what a client shows while it waits. status.nodes is written when the trace starts and ends.
    return { requeueAfterMs: deadline - now.getTime() };
  }

  private segmentFor(trace: NetworkTrace, task: NodeTask, now: Date): NetworkTraceSegment {
    const name = trace.metadata.name ?? "";
    const uid = trace.metadata.uid ?? "";
    const resolvedPods: Array<{ namespace: string; name: string }> = [];
    const spec = trace.spec;
    const ns = trace.metadata.namespace ?? "";
    if (spec.source.pod) resolvedPods.push({ namespace: spec.source.namespace ?? ns, name: spec.source.pod });
    if (spec.destination.pod)
      resolvedPods.push({ namespace: spec.destination.namespace ?? ns, name: spec.destination.pod });
    const service = spec.destination.service
      ? { namespace: spec.destination.namespace ?? ns, name: spec.destination.service }
      : undefined;
    return {
      apiVersion: "netmap.io/v1alpha1",
      kind: "NetworkTraceSegment",
      metadata: {
        name: segmentName(name, task.step),
        namespace: ns,
        labels: { [LABELS.traceUid]: uid, [LABELS.step]: String(task.step) },
        annotations: { [HANDED_AT]: now.toISOString() },
        ownerReferences: [
          { apiVersion: "netmap.io/v1alpha1", kind: "NetworkTrace", name, uid, controller: true },
        ],
      },
      spec: {
        nodeName: task.node,
        trace: { name, uid },
        task,
        facts: factsFor(this.d.view, {
          node: task.node,
          pods: resolvedPods,
          ...(service ? { service } : {}),
        }),
      },
    };
  }

  private async succeed(
    trace: NetworkTrace,
    result: TraceResult,
    steps: NodeStepStatus[],
    startedAt: number,
  ) {
    const now = this.now();
    const generation = trace.metadata.generation ?? 1;
    const where = result.stoppedAt !== undefined ? ` at hop ${result.stoppedAt}` : "";
    const message = `${result.verdict}${where}: ${result.reason}`;
    await this.write(trace, {
      ...result,
      phase: "Succeeded",
      message,
      completionTime: now.toISOString(),
      hopCount: result.hops.length,
      nodes: steps,
      conditions: setCondition(
        trace.status?.conditions,
        {
          type: "Completed",
          status: "True",
          reason: result.verdict,
          message,
          observedGeneration: generation,
        },
        now,
      ),
    });
    const created = Date.parse(trace.metadata.creationTimestamp ?? "") || startedAt;
    this.d.metrics.traces.inc({ phase: "Succeeded", verdict: result.verdict });
    this.d.metrics.traceDuration.observe({ phase: "Succeeded" }, (now.getTime() - created) / 1000);
    this.d.log.info("trace finished", {
      trace: `${trace.metadata.namespace}/${trace.metadata.name}`,
      verdict: result.verdict,
      hops: result.hops.length,
      ms: now.getTime() - created,
    });
    await this.d.writer.event(
      trace,
      result.verdict === "Delivered" ? "Normal" : "Warning",
      result.verdict,
      message,
    );
  }

  private async fail(
    trace: NetworkTrace,
    reason: string,
    message: string,
    extra: { nodes?: NodeStepStatus[]; resolvedFailed?: boolean },
  ): Promise<void> {
    const now = this.now();
    const generation = trace.metadata.generation ?? 1;
    let conditions = trace.status?.conditions;
    if (extra.resolvedFailed)
      conditions = setCondition(
        conditions,
        { type: "Resolved", status: "False", reason, message, observedGeneration: generation },
        now,
      );
    conditions = setCondition(
      conditions,
      { type: "Completed", status: "True", reason, message, observedGeneration: generation },
      now,
    );
    await this.write(trace, {
      phase: "Failed",
      message,
      completionTime: now.toISOString(),
      conditions,
      ...(extra.nodes ? { nodes: extra.nodes } : {}),
    });
    const created = Date.parse(trace.metadata.creationTimestamp ?? "") || now.getTime();
    this.d.metrics.traces.inc({ phase: "Failed", verdict: "none" });
    this.d.metrics.traceDuration.observe({ phase: "Failed" }, (now.getTime() - created) / 1000);
    this.d.log.warn("trace failed", {
      trace: `${trace.metadata.namespace}/${trace.metadata.name}`,
      reason,
      message,
    });
    await this.d.writer.event(trace, "Warning", reason, message);
  }

  private async expire(trace: NetworkTrace): Promise<ReconcileResult> {
    const status = trace.status ?? {};
    const finished = Date.parse(status.completionTime ?? "");
    if (Number.isNaN(finished)) return {};
    const ttl = (trace.spec.ttlSecondsAfterFinished ?? DEFAULTS.ttlSecondsAfterFinished) * 1000;
    const left = finished + ttl - this.now().getTime();
    if (left > 0) return { requeueAfterMs: left };
    await this.d.writer.deleteTrace(trace);
    await this.d.writer.deleteSegments(trace.metadata.namespace ?? "", trace.metadata.uid ?? "");
    this.d.log.info("trace deleted after its time-to-live", {
      trace: `${trace.metadata.namespace}/${trace.metadata.name}`,
    });
    return {};
  }
}

/** "node-3 is NotReady since …; " when the node is not Ready, else "". */
function unreadyNote(node: string, view: ClusterView): string {
  const why = notReady(node, view.node(node));
  return why ? `${why}; ` : "";
}

/** The API server's message in an error from client-node (its body is the Status object). */
function refusal(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    const status = (typeof body === "string" ? JSON.parse(body) : body) as { message?: string };
    if (status?.message) return status.message.slice(0, 2000);
  } catch {
    // not JSON
  }
  return err instanceof Error ? err.message.slice(0, 2000) : String(err);
}

/** Seconds from handing a segment over until its probe's completionTime. */
export function answerSeconds(seg: NetworkTraceSegment): number | undefined {
  const handed = Date.parse(seg.metadata.annotations?.[HANDED_AT] ?? "");
  const answered = Date.parse(seg.status?.completionTime ?? "");
  if (Number.isNaN(handed) || Number.isNaN(answered)) return undefined;
  return Math.max(0, (answered - handed) / 1000);
}

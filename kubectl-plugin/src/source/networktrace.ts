/**
 * A NetworkTrace in the cluster as a TraceSource: follows the object and its NetworkTraceSegments
 * (watches, ../kube/traces.ts) and reports each node's progress as its probe answers, until the trace is
 * Succeeded (its status carries the TraceResult the offline form renders) or Failed (status.message
 * says why, naming the node that did not answer). Two waits end it early with what to do: nobody
 * picked the trace up within a short grace period (no operator), and no result long after the
 * trace's own timeout (the operator stopped answering).
 */
import {
  isFinished,
  type NetworkTrace,
  type NetworkTraceSegment,
  type NodeStepStatus,
  traceResultOf,
} from "@netmap/api";
import type { TraceResult } from "@netmap/core";
import { type CliError, InterruptedError, TraceFailedError, UsageError } from "../cli/errors.js";
import type { Cluster } from "../kube/cluster.js";
import { isConnectionError, NETWORK_TRACES, unreachable } from "../kube/errors.js";
import {
  type FollowStats,
  followSegments,
  followTrace,
  TraceDeletedError,
  tracePath,
} from "../kube/traces.js";
import { type ProgressListener, progressReporter, type TraceSource } from "./types.js";

/** How long a new trace may stay without a phase before we say no operator answers. */
export const OPERATOR_GRACE_MS = 10_000;
/** How long past the trace's own timeout we wait for the operator to fail it. */
export const DEADLINE_SLACK_MS = 15_000;

/** Failed reasons that come from what the user asked for (exit 1), not from the cluster (exit 2). */
const INPUT_REASONS = new Set([
  "InvalidSpec",
  "PodNotFound",
  "NodeNotFound",
  "ServiceNotFound",
  "ServicePortNotFound",
  "ServiceHasNoClusterIP",
  "PodNotScheduled",
  "PodHasNoIP",
  "NodeHasNoAddress",
  "AddressFamilyMismatch",
]);

const OPERATOR_PODS =
  "kubectl get pods -A -l app.kubernetes.io/name=netmap,app.kubernetes.io/component=operator";

function ref(t: NetworkTrace): string {
  return `${t.metadata.namespace}/${t.metadata.name}`;
}

/**
 * The node walks of a trace so far: from its NetworkTraceSegments (each written by its node's probe
 * as it answers) when we can see them, else from status.nodes (what the operator recorded).
 */
export function stepsOf(t: NetworkTrace, segments?: readonly NetworkTraceSegment[]): NodeStepStatus[] {
  if (!segments || segments.length === 0) return t.status?.nodes ?? [];
  return segments.map((s) => {
    const phase = s.status?.phase;
    const step: NodeStepStatus = {
      step: s.spec.task.step,
      node: s.spec.nodeName,
      direction: s.spec.task.direction,
      segment: s.metadata.name ?? "",
      state: phase === "Succeeded" ? "Done" : phase === "Failed" ? "Failed" : "Waiting",
    };
    if (s.status?.result) step.hops = s.status.result.hops.length;
    return step;
  });
}

/** The node step still waiting for its probe (the last one), if any. */
export function waitingStep(steps: readonly NodeStepStatus[]): NodeStepStatus | undefined {
  return steps.filter((n) => n.state === "Waiting").at(-1);
}

/** One progress line from a version of the object: which node is being walked, which are done. */
export function progressOf(
  t: NetworkTrace,
  segments?: readonly NetworkTraceSegment[],
): { message: string; node?: string } {
  const s = t.status;
  if (!s?.phase || s.phase === "Pending")
    return { message: `created NetworkTrace ${ref(t)}; waiting for the netmap operator` };
  if (s.phase !== "Running") return { message: s.message ?? s.phase };
  const steps = stepsOf(t, segments);
  const done = steps
    .filter((n) => n.state === "Done")
    .map((n) => `${n.node} ${n.direction}${n.hops !== undefined ? ` ${n.hops} hops` : ""}`);
  const doneText = done.length > 0 ? ` · done: ${done.join(", ")}` : "";
  const waiting = waitingStep(steps);
  if (waiting)
    return {
      node: waiting.node,
      message: `step ${waiting.step} (${waiting.direction}): waiting for its probe${doneText}`,
    };
  if (done.length > 0) return { message: `the operator hands the packet on${doneText}` };
  return { message: s.message ?? "running" };
}

/** The reason of the Completed condition (why a trace Failed). */
function failReason(t: NetworkTrace): string | undefined {
  return t.status?.conditions?.find((c) => c.type === "Completed")?.reason;
}

/** A Failed trace as an error: the operator's message, exit 1 for what the user asked, else 2. */
export function failedError(t: NetworkTrace): CliError {
  const message = t.status?.message ?? "the trace failed (no message)";
  const reason = failReason(t);
  if (reason && INPUT_REASONS.has(reason)) return new UsageError(message);
  return new TraceFailedError(message, {
    hint: `kubectl describe networktrace ${t.metadata.name} -n ${t.metadata.namespace} shows its conditions and events`,
  });
}

/** Nobody wrote a phase within the grace period. */
export function operatorMissingError(t: NetworkTrace, graceMs: number): TraceFailedError {
  return new TraceFailedError(
    `NetworkTrace ${ref(t)} is still Pending after ${graceMs / 1000}s: no netmap operator picked it up`,
    {
      hint: `is the operator running? ${OPERATOR_PODS}; its log: kubectl logs -n netmap deploy/netmap-operator; to install it: helm install netmap charts/netmap -n netmap --create-namespace`,
    },
  );
}

/** No result long after the trace's own timeout. */
export function deadlineError(
  t: NetworkTrace,
  waitedMs: number,
  segments?: readonly NetworkTraceSegment[],
): TraceFailedError {
  const waiting = waitingStep(stepsOf(t, segments));
  const where = waiting
    ? `node ${waiting.node} has not answered step ${waiting.step} (${waiting.direction})`
    : `it is ${t.status?.phase ?? "Pending"}${t.status?.message ? `: ${t.status.message}` : ""}`;
  return new TraceFailedError(
    `NetworkTrace ${ref(t)} has no result after ${Math.round(waitedMs / 1000)}s: ${where}`,
    {
      hint: `${
        waiting
          ? `is the netmap probe running on ${waiting.node}? kubectl get pods -A -l app.kubernetes.io/component=probe --field-selector spec.nodeName=${waiting.node}; `
          : ""
      }the operator should have failed the trace at its timeout: ${OPERATOR_PODS}`,
    },
  );
}

export interface NetworkTraceSourceOptions {
  cluster: Cluster;
  /** The object as created (or as read, for `get`): followed from its resourceVersion. */
  trace: NetworkTrace;
  /** The trace's spec.timeoutSeconds; we wait that long plus DEADLINE_SLACK_MS. */
  timeoutSeconds: number;
  graceMs?: number;
  slackMs?: number;
}

/** Follows one NetworkTrace to its result. */
export class NetworkTraceSource implements TraceSource {
  readonly description: string;
  /** The latest version of the object seen. */
  latest: NetworkTrace;
  /** Its NetworkTraceSegments as last seen (undefined until listed, or when we may not). */
  segments: NetworkTraceSegment[] | undefined;
  /** How following the trace goes: watch requests, relists after 410 Gone, reconnects. */
  readonly stats: FollowStats = { watches: 0, relists: 0, reconnects: 0 };
  /** The same for its segments. */
  readonly segmentStats: FollowStats = { watches: 0, relists: 0, reconnects: 0 };
  private readonly abort = new AbortController();

  constructor(private readonly opts: NetworkTraceSourceOptions) {
    this.latest = opts.trace;
    this.description = `NetworkTrace ${ref(opts.trace)}`;
  }

  /** Stops following (Ctrl-C, the TUI quit): run rejects with InterruptedError. */
  cancel(): void {
    this.abort.abort();
  }

  run(onProgress: ProgressListener): Promise<TraceResult> {
    const report = progressReporter(onProgress);
    const graceMs = this.opts.graceMs ?? OPERATOR_GRACE_MS;
    const waitMs = this.opts.timeoutSeconds * 1000 + (this.opts.slackMs ?? DEADLINE_SLACK_MS);
    const started = Date.now();
    return new Promise<TraceResult>((resolve, reject) => {
      const follow = new AbortController();
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        this.abort.signal.removeEventListener("abort", onCancel);
        follow.abort();
        f();
      };
      const onCancel = () =>
        settle(() => reject(new InterruptedError(`interrupted before ${this.description} had a result`)));
      this.abort.signal.addEventListener("abort", onCancel);
      let last = "";
      const progress = (): void => {
        const p = progressOf(this.latest, this.segments);
        // The same state seen again (after a relist) is no news.
        if (`${p.node}\n${p.message}` !== last) report(p.message, p.node);
        last = `${p.node}\n${p.message}`;
      };
      const onTrace = (t: NetworkTrace): boolean => {
        this.latest = t;
        progress();
        if (!isFinished(t.status?.phase)) return false;
        settle(() => {
          if (t.status?.phase === "Failed") return reject(failedError(t));
          const result = traceResultOf(t);
          if (result) resolve(result);
          else
            reject(new TraceFailedError(`NetworkTrace ${ref(t)} Succeeded but its status carries no result`));
        });
        return true;
      };
      // Before blaming the operator or a node, one read of the trace: the verdict is on fresh state,
      // and a watch cut off from the API server says so instead.
      const confirm = (decide: () => CliError | undefined): void => {
        if (settled) return;
        const { namespace = "", name = "" } = this.latest.metadata;
        this.opts.cluster.getRaw<NetworkTrace>(tracePath(namespace, name)).then(
          (t) => {
            if (settled || onTrace(t)) return;
            const err = decide();
            if (err) settle(() => reject(err));
          },
          (err: unknown) =>
            settle(() =>
              reject(
                isConnectionError(err)
                  ? unreachable(err, this.opts.cluster.where)
                  : this.opts.cluster.explain(err, {
                      verb: "get",
                      resource: NETWORK_TRACES,
                      namespace,
                      name,
                    }),
              ),
            ),
        );
      };
      timers.push(
        setTimeout(
          () =>
            confirm(() =>
              this.latest.status?.phase ? undefined : operatorMissingError(this.latest, graceMs),
            ),
          graceMs,
        ),
        setTimeout(
          () => confirm(() => deadlineError(this.latest, Date.now() - started, this.segments)),
          waitMs,
        ),
      );
      // Per-node progress as each probe answers; without the right to watch segments, the trace's
      // own status.nodes serve (the operator writes them when the trace starts and ends).
      followSegments(
        this.opts.cluster,
        this.opts.trace,
        (segments) => {
          this.segments = segments;
          if (!settled) progress();
        },
        { signal: follow.signal, stats: this.segmentStats },
      ).catch(() => {
        this.segments = undefined;
      });
      if (this.abort.signal.aborted) onCancel();
      followTrace(this.opts.cluster, this.opts.trace, onTrace, {
        signal: follow.signal,
        stats: this.stats,
        onReconnect: (err) =>
          report(`lost the API server (${err instanceof Error ? err.message : String(err)}); reconnecting`),
      }).then(
        () =>
          settle(() =>
            reject(new TraceFailedError(`stopped following ${this.description} without a result`)),
          ),
        (err: unknown) =>
          settle(() =>
            reject(
              err instanceof TraceDeletedError
                ? new TraceFailedError(err.message, {
                    hint: "someone deleted it, or its time-to-live ran out; create a new one",
                  })
                : err,
            ),
          ),
      );
    });
  }
}

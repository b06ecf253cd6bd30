/** The operator's Prometheus metrics (prom-client), on their own registry. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface OperatorMetrics {
  registry: Registry;
  /** Finished traces by phase and verdict (verdict "none" for Failed). */
  traces: Counter<"phase" | "verdict">;
  /** From creation to Succeeded/Failed, seconds. */
  traceDuration: Histogram<"phase">;
  /** Keys waiting in the work queue, by queue. */
  queueDepth: Gauge<"queue">;
  /** From handing a step to a node until its probe answered, seconds. */
  nodeAnswer: Histogram<"node">;
  /** Reconciles by result (ok, error). */
  reconciles: Counter<"controller" | "result">;
  /** Informer restarts after a watch or list error. */
  watchRestarts: Counter<"resource">;
  /** 1 while this replica holds the leader Lease. */
  leader: Gauge;
}

export function operatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  const m: OperatorMetrics = {
    registry,
    traces: new Counter({
      name: "netmap_traces_total",
      help: "NetworkTraces finished, by phase (Succeeded, Failed) and verdict.",
      labelNames: ["phase", "verdict"],
      registers: [registry],
    }),
    traceDuration: new Histogram({
      name: "netmap_trace_duration_seconds",
      help: "Time from a NetworkTrace's creation until it Succeeded or Failed.",
      labelNames: ["phase"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "netmap_workqueue_depth",
      help: "Keys waiting in the operator's work queue.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    nodeAnswer: new Histogram({
      name: "netmap_node_answer_seconds",
      help: "Time from handing a trace step to a node until its probe wrote the result.",
      labelNames: ["node"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    reconciles: new Counter({
      name: "netmap_reconciles_total",
      help: "Reconciles, by controller and result.",
      labelNames: ["controller", "result"],
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: "netmap_watch_restarts_total",
      help: "Informer restarts (list and watch again) after a watch or list error.",
      labelNames: ["resource"],
      registers: [registry],
    }),
    leader: new Gauge({
      name: "netmap_leader",
      help: "1 while this replica holds the leader Lease.",
      registers: [registry],
    }),
  };
  return m;
}

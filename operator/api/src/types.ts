/**
 * netmap's Kubernetes API, netmap.io/v1alpha1, as TypeScript: what the CRDs in crds/ describe.
 *
 * - NetworkTrace: what a user (or `kubectl netmap`) asks for, and the finished trace. Its spec is
 *   written by the user; its status only by the operator.
 * - NetworkTraceSegment: one node's part of one trace (one NodeTask). The operator creates it (spec
 *   = the task, the node, the cluster facts the walk needs); the probe of spec.nodeName, and only
 *   that one, writes its status (the NodeWalkResult) through the status subresource. One writer
 *   per object: no two writers ever race on one resourceVersion.
 */
import type {
  ClusterFacts,
  NodeTask,
  NodeWalkResult,
  Protocol,
  TraceRequest,
  TraceResult,
} from "@netmap/core";

export const GROUP = "netmap.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Names of the NetworkTrace resource. */
export const NETWORK_TRACE = {
  kind: "NetworkTrace",
  plural: "networktraces",
  shortName: "ntrace",
} as const;

/** Names of the NetworkTraceSegment resource. */
export const NETWORK_TRACE_SEGMENT = {
  kind: "NetworkTraceSegment",
  plural: "networktracesegments",
  shortName: "ntseg",
} as const;

/** Labels the operator puts on what it creates. */
export const LABELS = {
  /** On a segment: the uid of its NetworkTrace (a trace's name may be longer than a label value). */
  traceUid: "netmap.io/trace-uid",
  /** On a segment: the step it carries. */
  step: "netmap.io/step",
  /** On the probe DaemonSet and its pods. */
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

/** The field a probe selects its own node's segments by (a CRD selectable field). */
export const SEGMENT_NODE_FIELD = "spec.nodeName";

/** The defaults the CRD applies (kept here for code that builds specs). */
export const DEFAULTS = {
  protocol: "tcp" as Protocol,
  timeoutSeconds: 30,
  ttlSecondsAfterFinished: 3600,
  /** The source port when spec.sourcePort is not set (an ephemeral port, as a client would use). */
  sourcePort: 40000,
} as const;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Where the packet starts: exactly one of pod (hostNetwork pods too) or node. */
export interface TraceSourceSpec {
  /** Defaults to the NetworkTrace's namespace. */
  namespace?: string;
  pod?: string;
  node?: string;
}

/** Where the packet goes: exactly one of pod, service or ip. */
export interface TraceDestinationSpec {
  /** Defaults to the NetworkTrace's namespace (pod and service only). */
  namespace?: string;
  pod?: string;
  service?: string;
  ip?: string;
}

export interface NetworkTraceSpec {
  source: TraceSourceSpec;
  destination: TraceDestinationSpec;
  /** Default tcp. */
  protocol?: Protocol;
  /** Required for tcp and udp; for a Service, the Service port. */
  port?: number;
  sourcePort?: number;
  /** Which Service endpoint to follow: an index in rule order, or "ip:port". */
  endpoint?: number | string;
  /** Default 30. */
  timeoutSeconds?: number;
  /** Default 3600. */
  ttlSecondsAfterFinished?: number;
}

export const TRACE_PHASES = ["Pending", "Running", "Succeeded", "Failed"] as const;
export type TracePhase = (typeof TRACE_PHASES)[number];

export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

export interface Condition {
  /** "Resolved" or "Completed". */
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** Moves only when status changes. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const NODE_STEP_STATES = ["Waiting", "Done", "Failed"] as const;
export type NodeStepState = (typeof NODE_STEP_STATES)[number];

/** One node walk of a trace, as the NetworkTrace status lists it (progress as results arrive). */
export interface NodeStepStatus {
  step: number;
  node: string;
  direction: NodeTask["direction"];
  /** The NetworkTraceSegment carrying the task and the result. */
  segment: string;
  state: NodeStepState;
  hops?: number;
  /** Seconds from creating the segment until the probe answered. */
  answerSeconds?: number;
}

/**
 * NetworkTrace status: the operator's bookkeeping, and, once Succeeded, the TraceResult's fields
 * (packet, verdict, reason, stoppedAt, stoppedIn, missing, directions, hops, findings, segments).
 */
export interface NetworkTraceStatus extends Partial<TraceResult> {
  observedGeneration?: number;
  phase?: TracePhase;
  message?: string;
  /** The resolved source, for people and printer columns. */
  source?: string;
  /** The resolved destination, for people and printer columns. */
  destination?: string;
  /** The request as resolved at the start; every step replays it. */
  request?: TraceRequest;
  startTime?: string;
  completionTime?: string;
  hopCount?: number;
  nodes?: NodeStepStatus[];
  conditions?: Condition[];
}

export interface NetworkTrace {
  apiVersion: typeof API_VERSION;
  kind: typeof NETWORK_TRACE.kind;
  metadata: ObjectMeta;
  spec: NetworkTraceSpec;
  status?: NetworkTraceStatus;
}

/** What a segment's spec says about its trace. */
export interface SegmentTraceRef {
  name: string;
  uid: string;
}

/** A segment's spec: written once by the operator, immutable. */
export interface NetworkTraceSegmentSpec {
  /** The node whose probe walks this part (the probes select on it; admission can compare it with the writer's node). */
  nodeName: string;
  trace: SegmentTraceRef;
  task: NodeTask;
  /** The cluster facts the walk needs: every node's addresses, the pods and Services the path can meet. */
  facts: ClusterFacts;
}

export const SEGMENT_PHASES = ["Succeeded", "Failed"] as const;
export type SegmentPhase = (typeof SEGMENT_PHASES)[number];

/** A segment's status: written only by the probe of spec.nodeName. */
export interface NetworkTraceSegmentStatus {
  /** Succeeded: result holds the walk. Failed: the probe could not read its node; message says why. */
  phase: SegmentPhase;
  message?: string;
  result?: NodeWalkResult;
  /** The probe that answered (its pod, or its process in tests). */
  probe?: string;
  startTime?: string;
  completionTime?: string;
  /** What the walk cost on the node. */
  timings?: SegmentTimings;
}

export interface SegmentTimings {
  /** Reading the node's kernel state (iproute2 and friends), ms. */
  collectMs: number;
  /** Walking, including what the walk read on demand between rounds, ms. */
  walkMs: number;
  /** Walk rounds (each may read what the previous one missed). */
  rounds: number;
}

export interface NetworkTraceSegment {
  apiVersion: typeof API_VERSION;
  kind: typeof NETWORK_TRACE_SEGMENT.kind;
  metadata: ObjectMeta;
  spec: NetworkTraceSegmentSpec;
  status?: NetworkTraceSegmentStatus;
}

/** The name of the segment that carries step `step` of trace `traceName` (the CRD caps trace names at 230). */
export function segmentName(traceName: string, step: number): string {
  return `${traceName}-${step}`;
}

/** True for the phases after which nothing changes but deletion. */
export function isFinished(phase: TracePhase | undefined): phase is "Succeeded" | "Failed" {
  return phase === "Succeeded" || phase === "Failed";
}

/** The keys of NetworkTraceStatus that are the operator's bookkeeping, not part of the TraceResult. */
const BOOKKEEPING = [
  "observedGeneration",
  "phase",
  "message",
  "source",
  "destination",
  "request",
  "startTime",
  "completionTime",
  "hopCount",
  "nodes",
  "conditions",
] as const satisfies ReadonlyArray<Exclude<keyof NetworkTraceStatus, keyof TraceResult>>;

/**
 * The TraceResult a Succeeded NetworkTrace carries, for renderers (the same shape the offline form
 * produces): status without the operator's bookkeeping. Undefined until the trace has a verdict.
 */
export function traceResultOf(trace: Pick<NetworkTrace, "status">): TraceResult | undefined {
  const s = trace.status;
  if (s?.phase !== "Succeeded" || !s.packet || !s.verdict || s.reason === undefined || !s.hops)
    return undefined;
  const result: Record<string, unknown> = { ...s };
  for (const k of BOOKKEEPING) delete result[k];
  return result as unknown as TraceResult;
}

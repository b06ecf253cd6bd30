/**
 * The online form, `kubectl netmap <src> <dst>`: parsed and validated into an OnlineTraceRequest.
 * The operator that reconciles NetworkTrace objects comes later; until then NetworkTraceSource
 * fails clearly instead of pretending to trace.
 */
import { isIP } from "node:net";
import type { Protocol, TraceResult } from "@netmap/core";
import { TraceFailedError, UsageError } from "../cli/errors.js";
import type { KubeFlags } from "../cli/kube-flags.js";
import type { ProgressListener, TraceSource } from "./types.js";

/** A pod named on the command line. */
export interface PodTarget {
  kind: "pod";
  namespace: string;
  name: string;
}

/** A Service named as `svc/name` (or `service/name`). */
export interface ServiceTarget {
  kind: "service";
  namespace: string;
  name: string;
}

/** A bare IP address (a pod, a ClusterIP, a node, anything routable). */
export interface IpTarget {
  kind: "ip";
  ip: string;
}

/** What the online form traces from and to. */
export type TraceTarget = PodTarget | ServiceTarget | IpTarget;

/** Everything the online form needs to create a NetworkTrace (netmap.io/v1alpha1). */
export interface OnlineTraceRequest {
  source: PodTarget;
  destination: TraceTarget;
  protocol: Protocol;
  port?: number;
  /** How long to wait for the operator to finish, in seconds. */
  timeoutSeconds: number;
  /** Keep the NetworkTrace object after the result is shown. */
  keep: boolean;
  kube: KubeFlags;
}

const POD_PREFIX = /^(?:pod|pods|po)\/(.+)$/;
const SVC_PREFIX = /^(?:svc|service|services)\/(.+)$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function checkName(kind: string, name: string, arg: string): string {
  if (name.length === 0 || name.length > 253 || !DNS_LABEL.test(name)) {
    throw new UsageError(
      `"${arg}" is not a valid ${kind} name`,
      "Kubernetes names are lower case: a-z, 0-9, '-' and '.'",
    );
  }
  return name;
}

function splitNamespaced(
  rest: string,
  defaultNs: string,
  kind: string,
  arg: string,
): { namespace: string; name: string } {
  const parts = rest.split("/");
  if (parts.length > 2)
    throw new UsageError(`"${arg}" has too many "/": use ${kind}, ns/${kind} or ${kind}/name`);
  const [ns, name] = parts.length === 2 ? (parts as [string, string]) : [defaultNs, parts[0] as string];
  return { namespace: checkName("namespace", ns, arg), name: checkName(kind, name, arg) };
}

/** Parses a source: `pod-a`, `ns/pod-a`, `pod/pod-a` or `pod/ns/pod-a`. Sources are always pods. */
export function parseSource(arg: string, defaultNs: string): PodTarget {
  if (SVC_PREFIX.test(arg))
    throw new UsageError(`a source must be a pod, not ${arg}`, "trace from one of the Service's pods");
  if (isIP(arg))
    throw new UsageError(`a source must be a pod, not the address ${arg}`, "name the pod: pod-a or ns/pod-a");
  const rest = POD_PREFIX.exec(arg)?.[1] ?? arg;
  return { kind: "pod", ...splitNamespaced(rest, defaultNs, "pod", arg) };
}

/** Parses a destination: a pod (as for sources), `svc/name` / `svc/ns/name`, or an IP. */
export function parseDestination(arg: string, defaultNs: string): TraceTarget {
  if (isIP(arg)) return { kind: "ip", ip: arg };
  const svc = SVC_PREFIX.exec(arg)?.[1];
  if (svc !== undefined) return { kind: "service", ...splitNamespaced(svc, defaultNs, "service", arg) };
  return parseSource(arg, defaultNs);
}

/** Parses kubectl-style durations ("30s", "2m", "1h30m", or plain seconds) into seconds. */
export function parseDuration(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const re = /(\d+)(h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== value.length) {
    throw new UsageError(`invalid duration "${value}"`, 'use e.g. "30s", "2m" or "1h"');
  }
  return total;
}

/** The message the online form fails with until the operator exists. */
export const OPERATOR_MISSING =
  "the online form needs the netmap operator (NetworkTrace CRD netmap.io/v1alpha1), which is not installed in this build; use `kubectl netmap trace --snapshots …`";

/**
 * A TraceSource that creates a NetworkTrace and watches its status. The operator issue fills it
 * in; for now it fails (exit 2) with {@link OPERATOR_MISSING}.
 */
export class NetworkTraceSource implements TraceSource {
  readonly description: string;

  constructor(readonly request: OnlineTraceRequest) {
    this.description = `NetworkTrace ${request.source.namespace}/${request.source.name}`;
  }

  run(_onProgress: ProgressListener): Promise<TraceResult> {
    return Promise.reject(
      new TraceFailedError(OPERATOR_MISSING, {
        hint: "snapshot each node with `kubectl netmap snapshot --node <name> -o <dir>`, then trace offline",
      }),
    );
  }
}

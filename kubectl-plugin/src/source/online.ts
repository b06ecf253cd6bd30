/**
 * The online form's arguments, `kubectl netmap <src> <dst>`, parsed and validated into an
 * OnlineTraceRequest: what the NetworkTrace (netmap.io/v1alpha1) it creates will ask for.
 * ./networktrace.ts follows the object; ../kube/ talks to the API server.
 */
import { isIP } from "node:net";
import type { Protocol } from "@netmap/core";
import { UsageError } from "../cli/errors.js";
import type { KubeFlags } from "../cli/kube-flags.js";

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

/** A node's host network namespace, `node/NAME` (where hostNetwork pods run). */
export interface NodeTarget {
  kind: "node";
  name: string;
}

/** What the online form traces from: a pod (hostNetwork pods too) or a node. */
export type SourceTarget = PodTarget | NodeTarget;

/** What the online form traces to. A node goes to its InternalIP. */
export type TraceTarget = PodTarget | ServiceTarget | IpTarget | NodeTarget;

/** Everything the online form needs to create a NetworkTrace (netmap.io/v1alpha1). */
export interface OnlineTraceRequest {
  source: SourceTarget;
  destination: TraceTarget;
  protocol: Protocol;
  port?: number;
  /** Which Service endpoint to follow: an index in rule order, or "ip:port". */
  endpoint?: number | string;
  /** The trace's timeoutSeconds: how long the operator may take. */
  timeoutSeconds: number;
  /** Keep the NetworkTrace object after the result is shown. */
  keep: boolean;
  kube: KubeFlags;
}

/** The CRD's bound on spec.timeoutSeconds. */
export const MAX_TIMEOUT_SECONDS = 600;

const POD_PREFIX = /^(?:pod|pods|po)\/(.+)$/;
const NODE_PREFIX = /^(?:node|nodes|no)\/(.+)$/;
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

/** Parses `node/NAME`, or undefined when `arg` names no node. */
function parseNode(arg: string): NodeTarget | undefined {
  const name = NODE_PREFIX.exec(arg)?.[1];
  if (name === undefined) return undefined;
  if (name.includes("/"))
    throw new UsageError(`"${arg}" has too many "/": nodes have no namespace, use node/NAME`);
  return { kind: "node", name: checkName("node", name, arg) };
}

/**
 * Parses a source: `pod-a`, `ns/pod-a`, `pod/pod-a`, `pod/ns/pod-a` (a hostNetwork pod sends from
 * its node's netns), or `node/NAME`.
 */
export function parseSource(arg: string, defaultNs: string): SourceTarget {
  if (SVC_PREFIX.test(arg))
    throw new UsageError(
      `a source must be a pod or a node, not ${arg}`,
      "trace from one of the Service's pods",
    );
  if (isIP(arg))
    throw new UsageError(
      `a source must be a pod or a node, not the address ${arg}`,
      "name the pod (pod-a or ns/pod-a) or the node (node/NAME)",
    );
  const node = parseNode(arg);
  if (node) return node;
  const rest = POD_PREFIX.exec(arg)?.[1] ?? arg;
  return { kind: "pod", ...splitNamespaced(rest, defaultNs, "pod", arg) };
}

/** Parses a destination: a pod (as for sources), `svc/name` / `svc/ns/name`, `node/NAME`, or an IP. */
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

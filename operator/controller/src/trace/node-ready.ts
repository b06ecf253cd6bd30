/**
 * Whether a node's kubelet reports it Ready, in words for a trace's message. A trace still goes
 * through a NotReady node — its kernel state is real, and its probe (a pod of its own) may still
 * run — but when that node does not answer, this is the first thing to look at.
 */
import type { V1Node } from "@kubernetes/client-node";

/** Undefined when `node` is Ready; else why not, e.g. "node-3 is NotReady since … (NodeStatusUnknown: …)". */
export function notReady(name: string, node: V1Node | undefined): string | undefined {
  if (!node) return `node ${name} is not in the cluster (no Node object): a probe cannot run there`;
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (!ready) return `node ${name} reports no Ready condition (its kubelet has not reported yet)`;
  if (ready.status === "True") return undefined;
  const since = ready.lastTransitionTime ? ` since ${new Date(ready.lastTransitionTime).toISOString()}` : "";
  const why = [ready.reason, ready.message].filter((x) => x).join(": ");
  const state = ready.status === "Unknown" ? "NotReady (its kubelet stopped reporting)" : "NotReady";
  return `node ${name} is ${state}${since}${why ? ` (${why})` : ""}`;
}

/**
 * The plugin's view of the engine (@netmap/core) and the collectors (@netmap/probe): exactly the
 * functions it calls, loaded only when a command needs them. The engine is checked on load, so a build whose engine lacks
 * one fails with a clear message (exit 2) instead of a TypeError.
 */
import type { ClusterFacts, NodeCapture, NodeState, Packet, TraceResult } from "@netmap/core";
import { TraceFailedError } from "../cli/errors.js";

/** Input of the engine's `trace`. */
export interface TraceInput {
  nodes: NodeState[];
  facts: ClusterFacts;
  packet: Packet;
  /** Which Service endpoint to follow: an index, or "ip:port". */
  endpoint?: number | string;
}

/** The engine functions the offline form needs. */
export interface TraceEngine {
  assembleNodeState(capture: NodeCapture): NodeState;
  /** What the snapshots know of the cluster (pods, nodes, Services). */
  clusterFacts(captures: NodeCapture[], nodes: NodeState[]): ClusterFacts;
  trace(input: TraceInput): TraceResult;
}

type Fn<A extends unknown[], R> = (...args: A) => R;

type ProbeModule = typeof import("@netmap/probe");

/** The collector functions `snapshot`, `trace --snapshots` and `pod` use (injectable for tests). */
export type Probe = Pick<ProbeModule, "collectNode" | "writeSnapshot" | "readSnapshotDir">;

/**
 * Loads the collectors from @netmap/probe. Lazy, like the engine: commands that only render a
 * saved result (`view`) never load the probe or the engine.
 */
export async function loadProbe(): Promise<Probe> {
  const { collectNode, writeSnapshot, readSnapshotDir } = await import("@netmap/probe");
  return { collectNode, writeSnapshot, readSnapshotDir };
}

function pick<T>(pkg: string, mod: Record<string, unknown>, names: readonly (keyof T & string)[]): T {
  const missing = names.filter((n) => typeof mod[n] !== "function");
  if (missing.length > 0) {
    throw new TraceFailedError(`this build of ${pkg} does not provide ${missing.join(", ")}`, {
      hint: "rebuild the workspace (npm run build) or install a kubectl-netmap release",
    });
  }
  return mod as T;
}

/**
 * Loads the trace engine from @netmap/core. Cluster facts come from `clusterFactsFromNodes`
 * (assembled states) or `clusterFactsFromCaptures` (raw captures), whichever the build has.
 */
export async function loadEngine(): Promise<TraceEngine> {
  const mod = (await import("@netmap/core")) as unknown as Record<string, unknown>;
  const core = pick<Omit<TraceEngine, "clusterFacts">>("@netmap/core", mod, ["assembleNodeState", "trace"]);
  const fromNodes = mod.clusterFactsFromNodes as Fn<[NodeState[]], ClusterFacts> | undefined;
  const fromCaptures = mod.clusterFactsFromCaptures as Fn<[NodeCapture[]], ClusterFacts> | undefined;
  if (typeof fromNodes !== "function" && typeof fromCaptures !== "function") {
    pick<{ clusterFactsFromNodes: unknown }>("@netmap/core", mod, ["clusterFactsFromNodes"]);
  }
  return {
    assembleNodeState: (c) => core.assembleNodeState(c),
    trace: (input) => core.trace(input),
    clusterFacts: (captures, nodes) =>
      typeof fromNodes === "function"
        ? fromNodes(nodes)
        : (fromCaptures as Fn<[NodeCapture[]], ClusterFacts>)(captures),
  };
}

/**
 * One node's part of a trace, on the node: read what the walk needs (iproute2 state of the host
 * and of the pod netns the task can touch; iptables and nft chain by chain, on demand), walk
 * (@netmap/core walkNode, pure), read what that walk asked for and did not have, walk again, until
 * a walk misses nothing. Read-only: only the collectors' commands run, none writes kernel state.
 */
import {
  type ClusterFacts,
  type NodeState,
  type NodeTask,
  type NodeWalkResult,
  walkNode,
} from "@netmap/core";
import { collectNodeForTrace, type NodeForTrace } from "../collectors/collect-for-trace.js";
import { MAX_TRACE_ROUNDS, type OnDemandSource } from "../collectors/on-demand.js";

/** @netmap/core's per-node walk. */
export type WalkNode = (input: { state: NodeState; facts: ClusterFacts; task: NodeTask }) => NodeWalkResult;

/** @netmap/core's walkNode. */
export function coreWalkNode(): WalkNode {
  return walkNode;
}

export interface WalkOnDemandResult<R> {
  result: R;
  rounds: number;
}

/** Runs `walk` until a run leaves nothing for `sources` to read (the per-node form of traceOnDemand). */
export async function walkOnDemand<R>(
  walk: () => R,
  sources: readonly OnDemandSource[],
): Promise<WalkOnDemandResult<R>> {
  for (let round = 1; round <= MAX_TRACE_ROUNDS; round++) {
    const result = walk();
    const pending = sources.filter((s) => s.missing > 0);
    if (pending.length === 0) return { result, rounds: round };
    await Promise.all(pending.map((s) => s.fetchMissing()));
  }
  throw new Error(`the walk still asked for new chains after ${MAX_TRACE_ROUNDS} rounds (a jump loop?)`);
}

/**
 * The pod IPs on this node the task can touch: the packet's addresses (and the client connection's,
 * for the reply), the Service's endpoints, the conntrack entries' addresses. Undefined (read every
 * pod netns) when none of them is a pod of this node, so a walk never misses a netns it enters.
 */
export function podIpsForTask(node: string, task: NodeTask, facts: ClusterFacts): string[] | undefined {
  const touched = new Set<string>();
  const add = (p?: { src: string; dst: string }) => {
    if (!p) return;
    touched.add(p.src);
    touched.add(p.dst);
  };
  add(task.arrival.kind === "local" ? task.arrival.packet : task.arrival.frame.packet);
  add(task.connection);
  for (const c of task.conntrack) {
    add(c.original);
    add(c.reply);
  }
  for (const s of facts.services) for (const e of s.endpoints) touched.add(e);
  const local = facts.pods.filter((p) => p.node === node).flatMap((p) => p.ips);
  const wanted = local.filter((ip) => touched.has(ip));
  return wanted.length > 0 ? wanted : undefined;
}

export interface SegmentWalk {
  result: NodeWalkResult;
  timings: { collectMs: number; walkMs: number; rounds: number };
}

/**
 * The node's kernel state as read for recent walks, reused for `ttlMs`: the walks of one trace on a
 * node (the request, then its reply) and traces that arrive together read the node once. The
 * chains read on demand stay with it, so a later walk needs fewer rounds. A walk may thus see state
 * up to ttlMs old (a trace is a picture of the node at one moment anyway); 0 reads for every walk.
 * Walks that share it must run one at a time (the agent walks sequentially).
 */
export class NodeStateCache {
  private entry:
    | { at: number; startedAt: number; podIps: Set<string> | undefined; node: NodeForTrace }
    | undefined;
  /** Reads of the node (for logs and the benchmark). */
  reads = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly collect: (podIps: string[] | undefined) => Promise<NodeForTrace>,
  ) {}

  /**
   * The node's state covering `podIps` (undefined: every pod netns). `notBefore` (performance.now()
   * when the walk was asked for): a read that started after it is as fresh as a read of its own,
   * whatever its age — so walks that queued up behind a slow read (a burst of traces on a busy
   * node) share the next read instead of each reading the node again.
   */
  async get(
    podIps: string[] | undefined,
    notBefore?: number,
  ): Promise<{ node: NodeForTrace; fresh: boolean }> {
    const e = this.entry;
    const live =
      e !== undefined &&
      (performance.now() - e.at < this.ttlMs || (notBefore !== undefined && e.startedAt >= notBefore));
    if (live && covers(e.podIps, podIps)) return { node: e.node, fresh: false };
    // Grow the set a live entry had, so traces between different pods do not evict each other.
    const wanted = podIps === undefined || (live && e.podIps === undefined) ? undefined : new Set(podIps);
    if (wanted && live && e.podIps) for (const ip of e.podIps) wanted.add(ip);
    const startedAt = performance.now();
    const node = await this.collect(wanted ? [...wanted] : undefined);
    this.reads++;
    this.entry?.node.release();
    this.entry = { at: performance.now(), startedAt, podIps: wanted, node };
    return { node, fresh: true };
  }

  release(): void {
    this.entry?.node.release();
    this.entry = undefined;
  }
}

function covers(have: Set<string> | undefined, want: string[] | undefined): boolean {
  if (have === undefined) return true;
  if (want === undefined) return false;
  return want.every((ip) => have.has(ip));
}

export interface WalkSegmentOptions {
  node: string;
  task: NodeTask;
  facts: ClusterFacts;
  walkNode: WalkNode;
  /** Where the node's state comes from (collectNodeForTrace, through a NodeStateCache). */
  state: NodeStateCache;
  /** performance.now() when the segment arrived (see NodeStateCache.get). */
  arrivedAt?: number;
  /** The walks queued behind this one: a read for this walk covers their pods too. */
  queued?: ReadonlyArray<{ task: NodeTask; facts: ClusterFacts }>;
}

/** The pod IPs a read must cover for `task` and the `queued` walks (undefined: every pod netns). */
export function podIpsForWalks(
  node: string,
  task: NodeTask,
  facts: ClusterFacts,
  queued: ReadonlyArray<{ task: NodeTask; facts: ClusterFacts }> = [],
): string[] | undefined {
  const mine = podIpsForTask(node, task, facts);
  if (mine === undefined) return undefined;
  const all = new Set(mine);
  for (const q of queued) {
    const theirs = podIpsForTask(node, q.task, q.facts);
    // A queued walk that needs every pod netns would read them all itself: leave it its own read.
    if (theirs) for (const ip of theirs) all.add(ip);
  }
  return [...all];
}

export async function walkSegment(o: WalkSegmentOptions): Promise<SegmentWalk> {
  const t0 = performance.now();
  const { node: collected } = await o.state.get(
    podIpsForWalks(o.node, o.task, o.facts, o.queued),
    o.arrivedAt,
  );
  const t1 = performance.now();
  const { result, rounds } = await walkOnDemand(
    () => o.walkNode({ state: collected.state, facts: o.facts, task: o.task }),
    collected.onDemand,
  );
  return { result, timings: { collectMs: round(t1 - t0), walkMs: round(performance.now() - t1), rounds } };
}

/** Reads node `node` for a walk: iproute2 state of the host and of the pod netns holding `podIps` (all when undefined). */
export function nodeCollector(
  node: string,
  hostNetns: string,
  knownPods: () => Array<{ namespace: string; name: string; ips: string[] }>,
): (podIps: string[] | undefined) => Promise<NodeForTrace> {
  return (podIps) =>
    collectNodeForTrace({ node, hostNetns, ...(podIps ? { podIps } : {}), pods: knownPods() });
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The engine tests' `trace`: the real engine, checked two ways on every call.
 *
 * 1. Stitched equals whole: the trace is run again the way the operator runs it — each node walked
 *    alone on its own state, every task and result passed through JSON as they pass through the API
 *    server — and must give the same result.
 * 2. Nothing changed: the request direction (hops, verdict, findings, segments) equals what the
 *    whole-cluster engine computed for the same test before the per-node walk replaced it (recorded
 *    at commit cd636f1 in whole-cluster/<test file>.json, keyed by test name), except for the
 *    differences made on purpose, listed in {@link sinceWholeCluster}.
 */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, expect } from "vitest";
import type { ClusterFacts } from "../../model/state.js";
import type { Hop, NodeSegment, TraceResult } from "../../model/trace.js";
import type { NodeTask, NodeWalkResult, TraceRequest } from "../../model/walk.js";
import { walkNode } from "../node-walk.js";
import { nextStep } from "../plan.js";
import { notCaptured, type TraceInput, trace as engineTrace, withCapturedNodeAddresses } from "../trace.js";

const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

type RequestPart = ReturnType<typeof requestPart>;

/** The request direction of a result, in the shape the whole-cluster engine produced. */
export function requestPart(r: TraceResult) {
  const request = r.directions[0];
  if (!request) throw new Error("a trace result without its request direction");
  const hops = r.hops
    .filter((h) => h.direction === "request")
    .map(({ direction: _d, ...h }): Omit<Hop, "direction"> => h);
  const indexes = new Set(hops.map((h) => h.index));
  const findings = r.findings.filter((f) => f.hop === undefined || indexes.has(f.hop));
  const segments = r.segments
    .filter((s) => s.direction === "request")
    .map(({ direction: _d, ...s }): Omit<NodeSegment, "direction"> => s);
  return {
    verdict: request.verdict,
    reason: request.reason,
    ...(request.stoppedAt !== undefined ? { stoppedAt: request.stoppedAt } : {}),
    ...(request.missing ? { missing: request.missing } : {}),
    hops,
    findings,
    segments,
  };
}

/**
 * What the per-node walk changed on purpose, applied to both sides before they are compared:
 * - a netfilter hop's command runs in the netns its rules were read from (`ip netns exec <ns> …`
 *   outside a node's own netns; issue 10 item 4);
 * - a hop onto the underlay names the next hop's MAC only from the sender's own neighbour table (the
 *   whole-cluster engine read it from the next node's links, which a probe cannot see);
 * - a departure to a node that was not captured names that node (it named only the address).
 */
function sinceWholeCluster(p: RequestPart): RequestPart {
  const nextNodeMissing = /^(the VTEP \S+ belongs to no captured node|the packet goes on to .* which was not captured)$/;
  return {
    ...p,
    reason: nextNodeMissing.test(p.reason) ? "(the next node was not captured)" : p.reason,
    ...(p.missing
      ? {
          missing: p.missing.map((m) =>
            /^a snapshot of (the node with address \S+|node \S+)$/.test(m) ? "(a snapshot of the next node)" : m,
          ),
        }
      : {}),
    hops: p.hops.map((h) => ({
      ...h,
      command: h.layer === "netfilter" ? h.command.replace(/^(ip netns exec \S+|nsenter --net=\S+) /, "") : h.command,
      summary:
        h.layer === "underlay" && h.action === "transmit" && h.primitive === "device"
          ? h.summary.replace(/ at [0-9a-f:]{17}$/, "")
          : h.summary,
    })),
  };
}

const goldens = new Map<string, Record<string, RequestPart>>();
const calls = new Map<string, number>();
const compared = new Set<string>();

/** What the whole-cluster engine answered for this call of this test, if it was recorded. */
function wholeCluster(): RequestPart | undefined {
  const state = expect.getState();
  const file = (state.testPath ?? "").split("/").pop() ?? "";
  const name = state.currentTestName ?? "";
  const n = (calls.get(`${file}\u0000${name}`) ?? 0) + 1;
  calls.set(`${file}\u0000${name}`, n);
  let recorded = goldens.get(file);
  if (!recorded) {
    // Test files written after the whole-cluster engine (reply.test.ts, …) have no record.
    const url = new URL(`./whole-cluster/${file}.json`, import.meta.url);
    recorded = existsSync(url) ? (JSON.parse(readFileSync(url, "utf8")) as Record<string, RequestPart>) : {};
    goldens.set(file, recorded);
  }
  compared.add(`${file}\u0000${name} ${n}`);
  return recorded[`${name} ${n}`];
}

interface TaskTree {
  mode: string;
  result?: { state?: string };
  tasks?: readonly TaskTree[];
}

function anySkipped(t: TaskTree): boolean {
  if (t.mode === "skip" || t.mode === "todo" || t.result?.state === "skip") return true;
  return (t.tasks ?? []).some(anySkipped);
}

/**
 * Registers, for the calling test file, a check after all its tests that every result the
 * whole-cluster engine recorded for the file was compared (a renamed or removed test would otherwise
 * drop its comparison silently). Not checked when the run skipped some of the file's tests (`-t`).
 */
export function compareEveryWholeClusterResult(testUrl: string): void {
  // biome-ignore lint/correctness/noEmptyPattern: Vitest hands hooks their fixtures as an object pattern; the suite comes second.
  afterAll(({}, suite) => allCompared(testUrl, suite));
}

function allCompared(testUrl: string, suite: TaskTree): void {
  if (anySkipped(suite)) return;
  const file = new URL(testUrl).pathname.split("/").pop() ?? "";
  const recorded = goldens.get(file) ?? {};
  const missed = Object.keys(recorded).filter((k) => !compared.has(`${file}\u0000${k}`));
  expect(missed, `results recorded for ${file} but never compared`).toEqual([]);
}

/** The operator's loop, in miniature: one node at a time, tasks and results through JSON. */
function stitched(input: TraceInput, first: TraceRequest): TraceResult {
  const facts: ClusterFacts = viaJson(withCapturedNodeAddresses(input.facts, input.nodes));
  const done: NodeWalkResult[] = [];
  for (;;) {
    const step = nextStep(viaJson(first), viaJson(done));
    if (step.kind === "done") return step.result;
    const task: NodeTask = viaJson(step.task);
    const state = input.nodes.find((n) => n.node === task.node);
    done.push(viaJson(state ? walkNode({ state, facts, task }) : notCaptured(task)));
  }
}

export function trace(input: TraceInput): TraceResult {
  const r = engineTrace(input);
  const source = r.hops[0]?.node;
  if (source !== undefined) {
    const request: TraceRequest = {
      packet: input.packet,
      source: { node: source },
      ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
    };
    expect(viaJson(stitched(input, request))).toEqual(viaJson(r));
  }
  const before = wholeCluster();
  if (before) expect(sinceWholeCluster(viaJson(requestPart(r)))).toEqual(sinceWholeCluster(before));
  return r;
}

/**
 * The probe's read of a node, as a process of its own so that a test can run it with a given set
 * of capabilities, no_new_privs and a read-only root filesystem (probe-privileges.lab.test.ts).
 * Run by node directly (its type stripping); it uses the built probe (operator/probe/dist).
 *
 *   node probe-read.ts walk '<json: {node, hostNetns, task, facts}>'   one node's walk (walkSegment)
 *   node probe-read.ts exec <netns path> <argv…>                      one command in a netns (netnsExec)
 *
 * Prints one JSON line: {"ok":true,...} or {"ok":false,"error":"…"}; exits 0 either way.
 */
import type { ClusterFacts, NodeTask } from "@netmap/core";
import {
  coreWalkNode,
  NodeStateCache,
  nodeCollector,
  walkSegment,
} from "../../operator/probe/dist/agent/walk-segment.js";
import { netnsExec } from "../../operator/probe/dist/collectors/netns-exec.js";

interface WalkInput {
  node: string;
  hostNetns: string;
  task: NodeTask;
  facts: ClusterFacts;
}

async function main(): Promise<unknown> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === "walk") {
    const input = JSON.parse(rest[0] ?? "{}") as WalkInput;
    const pods = input.facts.pods.filter((p) => p.node === input.node);
    const state = new NodeStateCache(
      0,
      nodeCollector(input.node, input.hostNetns, () => pods),
    );
    const { result } = await walkSegment({
      node: input.node,
      task: input.task,
      facts: input.facts,
      walkNode: coreWalkNode(),
      state,
    });
    state.release();
    return { ok: true, hops: result.hops, end: result.end, findings: result.findings };
  }
  if (mode === "exec") {
    const [netns, ...argv] = rest;
    const r = await netnsExec(netns ?? "", argv);
    return {
      ok: r.exitCode === 0,
      exitCode: r.exitCode,
      stdout: r.stdout.slice(0, 200),
      stderr: r.stderr.trim(),
    };
  }
  throw new Error(`usage: probe-read.ts walk JSON | exec NETNS ARGV… (got ${mode})`);
}

main().then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err: unknown) =>
    process.stdout.write(
      `${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) })}\n`,
    ),
);

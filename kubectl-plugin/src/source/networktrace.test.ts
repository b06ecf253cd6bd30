import type { NetworkTrace, NetworkTraceSegment, NetworkTraceStatus, NodeStepStatus } from "@netmap/api";
import { describe, expect, it } from "vitest";
import { ExitCode, VerdictExit, verdictExitCode } from "../cli/errors.js";
import { deadlineError, failedError, operatorMissingError, progressOf } from "./networktrace.js";

function trace(status?: NetworkTraceStatus): NetworkTrace {
  return {
    apiVersion: "netmap.io/v1alpha1",
    kind: "NetworkTrace",
    metadata: { name: "pod-a-to-pod-b-x7k2q", namespace: "shop" },
    spec: { source: { pod: "pod-a" }, destination: { pod: "pod-b" }, port: 80 },
    ...(status ? { status } : {}),
  };
}

const running = trace({
  phase: "Running",
  message: "waiting for node node-2 (step 2, reply)",
  nodes: [
    { step: 0, node: "node-1", direction: "request", segment: "x-0", state: "Done", hops: 14 },
    { step: 1, node: "node-2", direction: "request", segment: "x-1", state: "Done", hops: 9 },
    { step: 2, node: "node-2", direction: "reply", segment: "x-2", state: "Waiting" },
  ],
});

describe("following a NetworkTrace", () => {
  it("reports the node being walked and those done, as the operator records them", () => {
    expect(progressOf(trace())).toEqual({
      message: "created NetworkTrace shop/pod-a-to-pod-b-x7k2q; waiting for the netmap operator",
    });
    expect(progressOf(running)).toEqual({
      node: "node-2",
      message: "step 2 (reply): waiting for its probe · done: node-1 request 14 hops, node-2 request 9 hops",
    });
    expect(progressOf(trace({ phase: "Running", message: "tracing from a to b", nodes: [] }))).toEqual({
      message: "tracing from a to b",
    });
  });

  it("prefers the segments' own answers (each written by its node's probe) to status.nodes", () => {
    const segment = (step: number, node: string, phase?: "Succeeded", hops = 0): NetworkTraceSegment =>
      ({
        apiVersion: "netmap.io/v1alpha1",
        kind: "NetworkTraceSegment",
        metadata: { name: `x-${step}` },
        spec: { nodeName: node, task: { step, node, direction: "request" } },
        ...(phase ? { status: { phase, result: { hops: Array.from({ length: hops }) } } } : {}),
      }) as unknown as NetworkTraceSegment;
    const started = trace({ phase: "Running", nodes: [running.status?.nodes?.[0] as NodeStepStatus] });
    expect(progressOf(started, [segment(0, "node-1", "Succeeded", 14), segment(1, "node-3")])).toEqual({
      node: "node-3",
      message: "step 1 (request): waiting for its probe · done: node-1 request 14 hops",
    });
    expect(progressOf(started, [segment(0, "node-1", "Succeeded", 14)])).toEqual({
      message: "the operator hands the packet on · done: node-1 request 14 hops",
    });
    expect(
      deadlineError(started, 40_000, [segment(0, "node-1", "Succeeded"), segment(1, "node-3")]).message,
    ).toMatch(/node node-3 has not answered step 1 \(request\)$/);
  });

  it("turns a Failed trace into the operator's message: input (exit 1) or the cluster (exit 2)", () => {
    const completed = (reason: string) => [
      { type: "Completed", status: "True" as const, lastTransitionTime: "", reason, message: "" },
    ];
    const notFound = failedError(
      trace({
        phase: "Failed",
        message: "source pod shop/pod-z not found; did you mean pod-a?",
        conditions: completed("PodNotFound"),
      }),
    );
    expect([notFound.exitCode, notFound.message]).toEqual([
      ExitCode.usage,
      "source pod shop/pod-z not found; did you mean pod-a?",
    ]);
    const timeout = failedError(
      trace({
        phase: "Failed",
        message: "node node-3 did not answer step 1 (request) within the trace's 30s",
        conditions: completed("NodeDidNotAnswer"),
      }),
    );
    expect(timeout.exitCode).toBe(ExitCode.traceFailed);
    expect(timeout.message).toContain("node node-3 did not answer");
    expect(timeout.hint).toBe(
      "kubectl describe networktrace pod-a-to-pod-b-x7k2q -n shop shows its conditions and events",
    );
  });

  it("says no operator answers, or which node never did, when the waits run out", () => {
    const none = operatorMissingError(trace(), 10_000);
    expect(none.message).toBe(
      "NetworkTrace shop/pod-a-to-pod-b-x7k2q is still Pending after 10s: no netmap operator picked it up",
    );
    expect(none.hint).toContain("kubectl logs -n netmap deploy/netmap-operator");
    const late = deadlineError(running, 45_300);
    expect(late.message).toBe(
      "NetworkTrace shop/pod-a-to-pod-b-x7k2q has no result after 45s: node node-2 has not answered step 2 (reply)",
    );
    expect(late.hint).toContain("--field-selector spec.nodeName=node-2");
  });

  it("exits with one code per verdict", () => {
    expect(
      ["Delivered", "Dropped", "Rejected", "Unknown"].map((v) => verdictExitCode(v as "Dropped")),
    ).toEqual([0, 3, 4, 5]);
    expect(new VerdictExit("Rejected").exitCode).toBe(4);
  });
});

import { describe, expect, it } from "vitest";
import { notReady } from "./node-ready.js";

describe("notReady", () => {
  it("says nothing of a Ready node", () => {
    expect(notReady("n1", { status: { conditions: [{ type: "Ready", status: "True" }] } })).toBeUndefined();
  });

  it("names the node, since when, and the kubelet's reason when it is NotReady or Unknown", () => {
    const t = new Date("2026-01-02T03:04:05Z");
    expect(
      notReady("n3", {
        status: {
          conditions: [
            {
              type: "Ready",
              status: "Unknown",
              reason: "NodeStatusUnknown",
              message: "Kubelet stopped posting node status.",
              lastTransitionTime: t,
            },
          ],
        },
      }),
    ).toBe(
      "node n3 is NotReady (its kubelet stopped reporting) since 2026-01-02T03:04:05.000Z (NodeStatusUnknown: Kubelet stopped posting node status.)",
    );
    expect(notReady("n3", { status: { conditions: [{ type: "Ready", status: "False" }] } })).toBe(
      "node n3 is NotReady",
    );
  });

  it("tells a node without a Ready condition and a node that is not there", () => {
    expect(notReady("n4", { status: {} })).toBe(
      "node n4 reports no Ready condition (its kubelet has not reported yet)",
    );
    expect(notReady("gone", undefined)).toBe(
      "node gone is not in the cluster (no Node object): a probe cannot run there",
    );
  });
});

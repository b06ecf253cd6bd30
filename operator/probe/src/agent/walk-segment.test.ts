import type { ClusterFacts, NodeTask } from "@netmap/core";
import { describe, expect, it } from "vitest";
import type { NodeForTrace } from "../collectors/collect-for-trace.js";
import { NodeStateCache, podIpsForWalks } from "./walk-segment.js";

/** A read of the node that records which pod IPs it was asked to cover. */
function reads(): {
  collect: (ips: string[] | undefined) => Promise<NodeForTrace>;
  asked: Array<string[] | undefined>;
} {
  const asked: Array<string[] | undefined> = [];
  return {
    asked,
    collect: async (ips) => {
      asked.push(ips ? [...ips].sort() : undefined);
      return { onDemand: [], release: () => {} } as unknown as NodeForTrace;
    },
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("NodeStateCache", () => {
  it("serves a walk from a read that started after the walk was asked for, however old that read is", async () => {
    const r = reads();
    const cache = new NodeStateCache(20, r.collect);
    const askedAt = performance.now();
    await cache.get(["10.0.0.1"], askedAt);
    await sleep(40); // older than the ttl
    expect((await cache.get(["10.0.0.1"], askedAt)).fresh).toBe(false);
    expect(r.asked).toHaveLength(1);
  });

  it("reads again for a walk asked for after the read started, once the ttl has passed", async () => {
    const r = reads();
    const cache = new NodeStateCache(20, r.collect);
    await cache.get(["10.0.0.1"], performance.now());
    await sleep(40);
    expect((await cache.get(["10.0.0.1"], performance.now())).fresh).toBe(true);
    expect(r.asked).toHaveLength(2);
  });

  it("reads again when a live read does not cover the pods, growing the set", async () => {
    const r = reads();
    const cache = new NodeStateCache(10_000, r.collect);
    await cache.get(["10.0.0.1"]);
    await cache.get(["10.0.0.2"]);
    await cache.get(["10.0.0.1", "10.0.0.2"]);
    expect(r.asked).toEqual([["10.0.0.1"], ["10.0.0.1", "10.0.0.2"]]);
  });
});

describe("podIpsForWalks", () => {
  const facts: ClusterFacts = {
    nodes: [],
    services: [],
    pods: [
      { namespace: "a", name: "p1", ips: ["10.244.1.2"], node: "node-1" },
      { namespace: "a", name: "p2", ips: ["10.244.1.3"], node: "node-1" },
      { namespace: "a", name: "p3", ips: ["10.244.2.2"], node: "node-2" },
    ],
  };
  const task = (src: string, dst: string): NodeTask => ({
    step: 0,
    node: "node-1",
    direction: "request",
    arrival: { kind: "local", packet: { protocol: "icmp", src, dst } },
    firstHop: 0,
    conntrack: [],
  });

  it("covers the pods of this walk and of the walks queued behind it", () => {
    expect(
      podIpsForWalks("node-1", task("10.244.1.2", "10.244.2.2"), facts, [
        { task: task("10.244.1.3", "10.244.2.2"), facts },
      ])?.sort(),
    ).toEqual(["10.244.1.2", "10.244.1.3"]);
  });

  it("reads every pod netns when this walk touches no pod of the node", () => {
    expect(podIpsForWalks("node-1", task("192.0.2.1", "10.244.2.2"), facts, [])).toBeUndefined();
  });
});

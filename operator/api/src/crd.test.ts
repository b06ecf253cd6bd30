/**
 * The API's two CRDs against the TypeScript that reads and writes them: the generated segment CRD is
 * current and shares NetworkTrace's result schemas, every field of the types has a schema (no silent
 * pruning), and every field has a description for `kubectl explain`. What the API server itself
 * enforces (CEL rules, defaults, printer columns) is in crd.cp.test.ts.
 */
import { readFileSync } from "node:fs";
import { DIRECTIONS, type Hop, type NodeTask, type NodeWalkResult, type TraceResult } from "@netmap/core";
import { describe, expect, it } from "vitest";
import { NETWORK_TRACE_CRD_FILE, readCrd, SEGMENT_CRD_FILE, segmentCrdText } from "./crd-files.js";
import { rootSchema, type Schema, schemaAt } from "./schema.js";
import { SEGMENT_DIRECTIONS } from "./segment-crd.js";
import type {
  NetworkTraceSegmentSpec,
  NetworkTraceSegmentStatus,
  NetworkTraceSpec,
  NetworkTraceStatus,
} from "./types.js";
import { traceResultOf } from "./types.js";
import { structuralErrors } from "./validate.js";

const trace = readCrd(NETWORK_TRACE_CRD_FILE);
const segment = readCrd(SEGMENT_CRD_FILE);
const traceRoot = rootSchema(trace);
const segmentRoot = rootSchema(segment);

/** A real trace result the plugin's tests ship (kubectl-plugin/src/testdata/traces). */
const realTrace = JSON.parse(
  readFileSync(
    new URL("../../../kubectl-plugin/src/testdata/traces/cross-node-tcp.json", import.meta.url),
    "utf8",
  ),
) as TraceResult;
const hops: Hop[] = realTrace.hops.slice(0, 3);
const packet = realTrace.packet;

const fullSpec: Required<NetworkTraceSpec> = {
  source: { namespace: "default", pod: "a" },
  destination: { namespace: "default", service: "web" },
  protocol: "tcp",
  port: 80,
  sourcePort: 40000,
  endpoint: "10.244.2.3:8080",
  timeoutSeconds: 30,
  ttlSecondsAfterFinished: 60,
};

const task: Required<NodeTask> = {
  step: 1,
  node: "node-2",
  direction: "request",
  arrival: {
    kind: "wire",
    frame: {
      packet,
      outer: { src: "172.31.1.1", dst: "172.31.1.2", protocol: "udp", dport: 8472, vni: 1 },
      to: "172.31.1.2",
      dstMac: "12:e4:e9:34:1d:5b",
      size: 1450,
    },
    device: "eth0",
  },
  firstHop: 11,
  endpoint: 1,
  conntrack: [
    {
      node: "node-2",
      netns: "host",
      original: packet,
      reply: { ...packet, src: packet.dst, dst: packet.src },
      dnat: true,
      snat: false,
      hop: 12,
    },
  ],
  connection: packet,
};

const result: NodeWalkResult = {
  step: 0,
  node: "node-1",
  direction: "request",
  arrival: { kind: "local", packet, netns: "nm-demo-n1-p1", size: 1450 },
  hops,
  findings: [],
  end: {
    kind: "departure",
    departure: { frame: { packet, to: "172.31.1.2" }, device: "eth0", node: "node-2" },
  },
  conntrack: task.conntrack,
};

function withoutDescriptions(s: Schema): Schema {
  const { description: _, properties, items, ...rest } = s;
  const out: Schema = { ...rest };
  if (properties)
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([k, v]) => [k, withoutDescriptions(v)]),
    );
  if (items) out.items = withoutDescriptions(items);
  return out;
}

describe("NetworkTraceSegment CRD", () => {
  it("is the file `npm run crds` generates from the NetworkTrace CRD (regenerate after changing NetworkTrace's status schema)", () => {
    expect(readFileSync(SEGMENT_CRD_FILE, "utf8")).toBe(segmentCrdText(trace));
  });

  it("carries NetworkTrace's own packet, hop, finding and verdict schemas in its result", () => {
    const status = schemaAt(traceRoot, "status");
    const res = schemaAt(segmentRoot, "status", "result");
    expect(schemaAt(res, "hops", "[]")).toEqual(schemaAt(status, "hops", "[]"));
    expect(schemaAt(res, "findings", "[]")).toEqual(schemaAt(status, "findings", "[]"));
    expect(schemaAt(res, "end", "verdict")).toEqual(schemaAt(status, "verdict"));
    // Descriptions aside (the segment describes the fields NetworkTrace's status leaves undescribed).
    expect(withoutDescriptions(schemaAt(res, "arrival", "packet"))).toEqual(
      withoutDescriptions(schemaAt(status, "packet")),
    );
    expect(withoutDescriptions(schemaAt(res, "end", "departure", "frame", "outer"))).toEqual(
      withoutDescriptions(schemaAt(status, "hops", "[]", "outer")),
    );
  });

  it("names the model's directions", () => {
    expect([...SEGMENT_DIRECTIONS]).toEqual([...DIRECTIONS]);
  });

  it("keeps every field of a task, its facts and a walk result (nothing the API server would prune)", () => {
    const spec: NetworkTraceSegmentSpec = {
      nodeName: "node-2",
      trace: { name: "t", uid: "u" },
      task,
      facts: {
        pods: [{ namespace: "default", name: "b", ips: ["10.244.2.3"], node: "node-2" }],
        nodes: [{ name: "node-2", addresses: ["172.31.1.2"], podCIDRs: ["10.244.2.0/24"] }],
        services: [
          {
            namespace: "default",
            name: "web",
            type: "ClusterIP",
            clusterIPs: ["10.96.0.10"],
            ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }],
            endpoints: ["10.244.2.3"],
          },
        ],
      },
    };
    const status: Required<NetworkTraceSegmentStatus> = {
      phase: "Succeeded",
      message: "walked",
      result,
      probe: "netmap-probe-abcde",
      startTime: "2026-01-01T00:00:00Z",
      completionTime: "2026-01-01T00:00:01Z",
      timings: { collectMs: 80, walkMs: 3, rounds: 2 },
    };
    expect(structuralErrors(spec, schemaAt(segmentRoot, "spec"), "spec")).toEqual([]);
    expect(structuralErrors(status, schemaAt(segmentRoot, "status"), "status")).toEqual([]);
    const verdictEnd: NodeWalkResult = {
      ...result,
      end: { kind: "verdict", verdict: "Unknown", reason: "r", missing: ["node-3"] },
    };
    expect(structuralErrors(verdictEnd, schemaAt(segmentRoot, "status", "result"), "result")).toEqual([]);
  });

  it("refuses what the API server would refuse or prune", () => {
    const errors = structuralErrors(
      { ...task, direction: "sideways", extra: 1, arrival: { kind: "wire", frame: { to: 1 } } },
      schemaAt(segmentRoot, "spec", "task"),
      "task",
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        "task.direction: sideways not in enum",
        "task.extra: not in the schema (the API server would prune it)",
        "task.arrival.frame.packet: required",
        "task.arrival.frame.to: expected string",
      ]),
    );
  });
});

describe("NetworkTrace CRD: the operator's part", () => {
  it("has a schema for every spec field", () => {
    expect(structuralErrors(fullSpec, schemaAt(traceRoot, "spec"), "spec")).toEqual([]);
    expect(
      structuralErrors(
        { source: { node: "node-1" }, destination: { ip: "10.0.0.1" }, protocol: "icmp" },
        schemaAt(traceRoot, "spec"),
        "spec",
      ),
    ).toEqual([]);
  });

  it("has a schema for every status field the operator writes", () => {
    const status: NetworkTraceStatus = {
      observedGeneration: 1,
      phase: "Running",
      message: "waiting for node-2",
      source: "default/a (10.244.1.2 on node-1)",
      destination: "svc default/web 10.96.0.10:80",
      startTime: "2026-01-01T00:00:00Z",
      completionTime: "2026-01-01T00:00:01Z",
      hopCount: 3,
      nodes: [
        {
          step: 0,
          node: "node-1",
          direction: "request",
          segment: "t-0",
          state: "Done",
          hops: 3,
          answerSeconds: 0.2,
        },
      ],
      conditions: [
        {
          type: "Resolved",
          status: "True",
          observedGeneration: 1,
          lastTransitionTime: "2026-01-01T00:00:00Z",
          reason: "Resolved",
          message: "ok",
        },
      ],
    };
    expect(structuralErrors(status, schemaAt(traceRoot, "status"), "status")).toEqual([]);
  });

  it("describes every field (kubectl explain shows it)", () => {
    const undescribed: string[] = [];
    const walk = (s: Schema, path: string) => {
      for (const [k, sub] of Object.entries(s.properties ?? {})) {
        if (["apiVersion", "kind", "metadata"].includes(k) && path === "") continue;
        if (!sub.description) undescribed.push(`${path}.${k}`);
        walk(sub, `${path}.${k}`);
      }
    };
    walk(schemaAt(traceRoot, "spec"), ".spec");
    walk(schemaAt(segmentRoot, "spec"), ".spec");
    expect(undescribed).toEqual([]);
    expect(traceRoot.description).toMatch(/trace/);
  });
});

describe("traceResultOf", () => {
  it("is the TraceResult of a Succeeded trace, without the operator's bookkeeping", () => {
    const status: NetworkTraceStatus = {
      ...realTrace,
      phase: "Succeeded",
      hopCount: realTrace.hops.length,
      nodes: [],
      conditions: [],
      startTime: "2026-01-01T00:00:00Z",
    };
    expect(traceResultOf({ status })).toEqual(realTrace);
  });

  it("is undefined while the trace runs or after it failed", () => {
    expect(traceResultOf({ status: { ...realTrace, phase: "Running" } })).toBeUndefined();
    expect(traceResultOf({ status: { phase: "Failed", message: "node-2 did not answer" } })).toBeUndefined();
    expect(traceResultOf({})).toBeUndefined();
  });
});

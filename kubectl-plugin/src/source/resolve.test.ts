import { fileURLToPath } from "node:url";
import { readSnapshotDir } from "@netmap/probe";
import { describe, expect, it } from "vitest";
import { knownPods, resolveEndpointArg } from "./resolve.js";

const SNAP = fileURLToPath(new URL("../testdata/snapshots/lab-vxlan", import.meta.url));
const captures = await readSnapshotDir(SNAP);

describe("resolveEndpointArg on kernel-lab snapshots", () => {
  it("knows every pod netns with its address and pod name", () => {
    const pods = knownPods(captures);
    expect(pods.length).toBe(4);
    expect(pods.every((p) => p.ips.length === 1 && p.pod?.startsWith("netmap-lab/"))).toBe(true);
  });
  it("resolves IPs, names, ns/name, pod/name and netns names to the same pod", () => {
    const pod = knownPods(captures).find((p) => p.pod === "netmap-lab/pod-2-1");
    if (!pod) throw new Error("lab snapshot lacks pod-2-1");
    const ip = pod.ips[0] as string;
    for (const arg of [ip, "pod-2-1", "netmap-lab/pod-2-1", "pod/pod-2-1", pod.netns]) {
      const r = resolveEndpointArg(arg, "source", captures);
      expect(r.ip).toBe(ip);
      expect(r.pod?.node).toBe("node-2");
    }
    expect(resolveEndpointArg("pod-2-1", "source", captures, { namespace: "netmap-lab" }).ip).toBe(ip);
  });
  it("lets a destination be any IP, but not a source", () => {
    expect(resolveEndpointArg("10.96.0.10", "destination", captures)).toEqual({
      ip: "10.96.0.10",
      label: "10.96.0.10",
    });
    expect(() => resolveEndpointArg("10.244.1.99", "source", captures)).toThrow(
      /source address "10.244.1.99" is not in the snapshots/,
    );
  });
  it("names the closest matches for an unknown pod", () => {
    try {
      resolveEndpointArg("pod-2-9", "destination", captures);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe('destination "pod-2-9" is not in the snapshots');
      expect((err as { hint?: string }).hint).toMatch(/^did you mean pod-2-1, pod-2-2/);
    }
  });
  it("explains that these snapshots carry no Services", () => {
    expect(() => resolveEndpointArg("svc/web", "destination", captures)).toThrow(/not in the snapshots/);
    try {
      resolveEndpointArg("svc/web", "destination", captures, {
        facts: { pods: [], nodes: [], services: [] },
      });
    } catch (err) {
      expect((err as { hint?: string }).hint).toMatch(/ClusterIP/);
    }
  });
});

/** `trace --snapshots` and `pod` end to end on real kernel-lab snapshots, engine included. */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../main.js";
import { argv, captureIo } from "../test/io.js";
import { loadTrace } from "../testdata/traces/index.js";

const SNAP = fileURLToPath(new URL("../testdata/snapshots/lab-vxlan", import.meta.url));

describe("kubectl netmap trace --snapshots", () => {
  it("builds the same packet and reaches the same verdict as the committed cross-node trace", async () => {
    const c = captureIo();
    const code = await main(
      argv(
        "trace",
        "--snapshots",
        SNAP,
        "netmap-lab/pod-1-1",
        "netmap-lab/pod-2-1",
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "-o",
        "json",
      ),
      c.io,
    );
    expect(c.err()).toBe("");
    expect(code).toBe(0);
    // Not byte equality: the engine's wording evolves; the plugin's part is the packet it asks for.
    const got = JSON.parse(c.out());
    const want = loadTrace("cross-node-tcp");
    expect(got.packet).toEqual(want.packet);
    expect(got.verdict).toBe(want.verdict);
    expect(got.hops.filter((h: { direction: string }) => h.direction === "request").at(-1)).toMatchObject({
      node: "node-2",
      pod: "netmap-lab/pod-2-1",
      action: "deliver",
    });
  });

  it("traces from a node's own netns (node/NAME or its address: where hostNetwork pods live) to a pod and back", async () => {
    const runJson = async (...args: string[]) => {
      const c = captureIo();
      expect(await main(argv("trace", "--snapshots", SNAP, ...args, "-o", "json"), c.io)).toBe(0);
      return JSON.parse(c.out()) as {
        packet: { src: string };
        verdict: string;
        hops: Array<{ direction: string; node: string; netns: string; action: string }>;
      };
    };
    const byName = await runJson("node/node-1", "netmap-lab/pod-2-1", "--port", "8080");
    expect(byName.verdict).toBe("Delivered");
    expect(byName.hops[0]).toMatchObject({ direction: "request", node: "node-1", netns: "host" });
    expect(byName.hops.at(-1)).toMatchObject({
      direction: "reply",
      node: "node-1",
      netns: "host",
      action: "deliver",
    });
    // The same node by its address, and a node's address as the destination (a hostNetwork server).
    const byIp = await runJson(byName.packet.src, "netmap-lab/pod-2-1", "--port", "8080");
    expect(byIp.hops).toEqual(byName.hops);
    const toNode = await runJson("netmap-lab/pod-2-1", byName.packet.src, "--port", "10250");
    expect(toNode.verdict).toBe("Delivered");
    expect(toNode.hops.filter((h) => h.direction === "request").at(-1)).toMatchObject({
      node: "node-1",
      netns: "host",
      action: "deliver",
    });
  });

  it("says which nodes there are when node/NAME names none (exit 1)", async () => {
    const c = captureIo();
    expect(
      await main(argv("trace", "--snapshots", SNAP, "node/node-9", "pod-2-1", "--port", "80"), c.io),
    ).toBe(1);
    expect(c.err()).toMatch(
      /^error: source "node\/node-9" is not a node in the snapshots\nhint: did you mean node\/node-1/,
    );
  });

  it("resolves names with -n, and prints a text tree by default on a pipe", async () => {
    const c = captureIo();
    expect(
      await main(
        argv("trace", "--snapshots", SNAP, "-n", "netmap-lab", "pod-1-1", "pod-1-2", "--protocol", "icmp"),
        c.io,
      ),
    ).toBe(0);
    expect(c.out()).toContain("verdict: Delivered");
  });

  it("names the closest pods for an unknown address (exit 1)", async () => {
    const c = captureIo();
    expect(
      await main(argv("trace", "--snapshots", SNAP, "pod-1-9", "pod-2-1", "--protocol", "icmp"), c.io),
    ).toBe(1);
    expect(c.err()).toMatch(
      /^error: source "pod-1-9" is not in the snapshots\nhint: did you mean pod-1-1, pod-1-2/,
    );
  });

  it("asks for --port on tcp", async () => {
    const c = captureIo();
    expect(await main(argv("trace", "--snapshots", SNAP, "pod-1-1", "pod-2-1"), c.io)).toBe(1);
    expect(c.err()).toMatch(/--port is needed for tcp/);
  });
});

describe("kubectl netmap pod", () => {
  it("shows netns, eth0, veth peer, bridge port, host route and tunnels", async () => {
    const c = captureIo();
    expect(await main(argv("pod", "pod-2-1", "--snapshots", SNAP), c.io)).toBe(0);
    const out = c.out();
    expect(out).toMatch(/^pod netmap-lab\/pod-2-1 {2}10\.244\.2\.\d+ {2}on node-2\n/);
    expect(out).toMatch(/interface {2}eth0 \(veth, if\d+, mtu 1450, UP/);
    expect(out).toMatch(/veth peer {2}veth\w+ \(veth/);
    expect(out).toMatch(/bridge {5}cni0 \(bridge/);
    expect(out).toMatch(/port {7}veth\w+ on cni0: forwarding/);
    expect(out).toMatch(/route {6}10\.244\.2\.0\/24 dev cni0/);
    expect(out).toMatch(/tunnel {5}flannel\.1 \(vxlan VNI 1, mtu 1450, UP\) 172\.31\.\d+\.\d+ udp\/8472/);
    expect(out).not.toContain("!");
  });

  it("prints the same wiring as JSON", async () => {
    const c = captureIo();
    expect(await main(argv("pod", "10.244.1.2", "--snapshots", SNAP, "-o", "json"), c.io)).toBe(0);
    const w = JSON.parse(c.out());
    expect(w).toMatchObject({ node: "node-1", pod: "netmap-lab/pod-1-1", ips: ["10.244.1.2"], problems: [] });
    expect(w.peer.master).toBe("cni0");
    expect(w.tunnels.map((t: { name: string }) => t.name)).toEqual(["flannel.1"]);
  });
});

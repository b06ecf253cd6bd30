import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../cli/program.js";
import { main } from "../main.js";
import { argv, captureIo } from "../test/io.js";
import { parseDestination, parseDuration, parseSource } from "./online.js";

describe("online form parsing", () => {
  it("parses sources as pods in the default or given namespace", () => {
    expect(parseSource("pod-a", "default")).toEqual({ kind: "pod", namespace: "default", name: "pod-a" });
    expect(parseSource("shop/pod-a", "default")).toEqual({ kind: "pod", namespace: "shop", name: "pod-a" });
    expect(parseSource("pod/pod-a", "shop")).toEqual({ kind: "pod", namespace: "shop", name: "pod-a" });
    expect(parseSource("pod/web/pod-a", "shop")).toEqual({ kind: "pod", namespace: "web", name: "pod-a" });
  });
  it("parses destinations: pod, Service, IP", () => {
    expect(parseDestination("svc/cart", "shop")).toEqual({
      kind: "service",
      namespace: "shop",
      name: "cart",
    });
    expect(parseDestination("service/web/cart", "shop")).toEqual({
      kind: "service",
      namespace: "web",
      name: "cart",
    });
    expect(parseDestination("10.96.0.10", "shop")).toEqual({ kind: "ip", ip: "10.96.0.10" });
    expect(parseDestination("fd00::1", "shop")).toEqual({ kind: "ip", ip: "fd00::1" });
    expect(parseDestination("b", "shop")).toEqual({ kind: "pod", namespace: "shop", name: "b" });
  });
  it("parses node/NAME as a source or a destination (a node's host netns)", () => {
    expect(parseSource("node/worker-1", "x")).toEqual({ kind: "node", name: "worker-1" });
    expect(parseSource("no/worker-1", "x")).toEqual({ kind: "node", name: "worker-1" });
    expect(parseDestination("nodes/worker-2", "x")).toEqual({ kind: "node", name: "worker-2" });
    expect(() => parseSource("node/ns/worker-1", "x")).toThrow(/nodes have no namespace/);
  });
  it("rejects what cannot be a source or a name", () => {
    expect(() => parseSource("svc/cart", "x")).toThrow(/source must be a pod or a node/);
    expect(() => parseSource("10.0.0.1", "x")).toThrow(/source must be a pod or a node/);
    expect(() => parseSource("Pod_A", "x")).toThrow(/not a valid pod name/);
    expect(() => parseSource("a/b/c", "x")).toThrow(/too many/);
  });
  it("parses kubectl durations", () => {
    expect(parseDuration("45")).toBe(45);
    expect(parseDuration("30s")).toBe(30);
    expect(parseDuration("1h2m3s")).toBe(3723);
    expect(() => parseDuration("5 minutes")).toThrow(/invalid duration/);
  });
});

describe("kubectl netmap <src> <dst>", () => {
  it("validates the arguments, then reads the kubeconfig kubectl would, and says when there is none (exit 1)", async () => {
    const c = captureIo("", { KUBECONFIG: "/nonexistent/kc" });
    const code = await main(
      argv("-n", "shop", "frontend", "svc/cart", "--port", "8080", "--timeout", "2m", "--keep"),
      c.io,
    );
    expect(code).toBe(1);
    expect(c.err()).toBe(
      "error: no kubeconfig: none of the files in KUBECONFIG (/nonexistent/kc) exists\n" +
        "hint: pass --kubeconfig FILE or set KUBECONFIG (kubectl config view shows what kubectl uses)\n",
    );
    expect(c.out()).toBe("");
    const d = captureIo("", { KUBECONFIG: "/nonexistent/kc" });
    expect(await main(argv("Frontend", "svc/cart"), d.io)).toBe(1);
    expect(d.err()).toMatch(/"Frontend" is not a valid pod name/);
  });
  it("refuses a timeout longer than a NetworkTrace may run", async () => {
    const c = captureIo();
    expect(await main(argv("a", "b", "--port", "1", "--timeout", "11m"), c.io)).toBe(1);
    expect(c.err()).toMatch(/--timeout 11m is longer than a NetworkTrace may run \(10m\)/);
  });
  it("builds the typed request from args and kubectl flags", async () => {
    const { buildOnlineRequest } = await import("../commands/online.js");
    const c = captureIo("", { KUBECONFIG: "/tmp/kc" });
    const program = buildProgram(c.io);
    program.parseOptions([
      "-n",
      "shop",
      "--context",
      "prod",
      "--keep",
      "--timeout",
      "90s",
      "--port",
      "80",
      "--endpoint",
      "10.244.2.3:8080",
    ]);
    const opts = program.opts<{ protocol: "tcp"; timeout: string; keep: boolean; port: number }>();
    const req = buildOnlineRequest("pod-a", "svc/cart", opts, program as Command, c.io);
    expect(req).toEqual({
      source: { kind: "pod", namespace: "shop", name: "pod-a" },
      destination: { kind: "service", namespace: "shop", name: "cart" },
      protocol: "tcp",
      port: 80,
      endpoint: "10.244.2.3:8080",
      timeoutSeconds: 90,
      keep: true,
      // KUBECONFIG stays the loader's (a list of files to merge), not a --kubeconfig flag.
      kube: { namespace: "shop", context: "prod", allNamespaces: false },
    });
  });
  it("rejects bad input with exit 1", async () => {
    const c = captureIo();
    expect(await main(argv("svc/cart", "pod-b"), c.io)).toBe(1);
    expect(c.err()).toMatch(/source must be a pod/);
    const d = captureIo();
    expect(await main(argv("trcae"), d.io)).toBe(1);
    expect(d.err()).toMatch(/did you mean `kubectl netmap trace`/);
  });
});

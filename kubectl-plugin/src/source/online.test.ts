import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../cli/program.js";
import { main } from "../main.js";
import { argv, captureIo } from "../test/io.js";
import { OPERATOR_MISSING, parseDestination, parseDuration, parseSource } from "./online.js";

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
  it("rejects what cannot be a source or a name", () => {
    expect(() => parseSource("svc/cart", "x")).toThrow(/source must be a pod/);
    expect(() => parseSource("10.0.0.1", "x")).toThrow(/source must be a pod/);
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
  it("validates everything into a request, then fails clearly (exit 2) without the operator", async () => {
    const c = captureIo("", { KUBECONFIG: "/tmp/kc" });
    const code = await main(
      argv("-n", "shop", "frontend", "svc/cart", "--port", "8080", "--timeout", "2m", "--keep"),
      c.io,
    );
    expect(code).toBe(2);
    expect(c.err()).toContain(OPERATOR_MISSING);
    expect(c.out()).toBe("");
  });
  it("builds the typed request from args and kubectl flags", async () => {
    const { buildOnlineRequest } = await import("../commands/online.js");
    const c = captureIo("", { KUBECONFIG: "/tmp/kc" });
    const program = buildProgram(c.io);
    program.parseOptions(["-n", "shop", "--context", "prod", "--keep", "--timeout", "90s", "--port", "80"]);
    const opts = program.opts<{ protocol: "tcp"; timeout: string; keep: boolean; port: number }>();
    const req = buildOnlineRequest("pod-a", "svc/cart", opts, program as Command, c.io);
    expect(req).toEqual({
      source: { kind: "pod", namespace: "shop", name: "pod-a" },
      destination: { kind: "service", namespace: "shop", name: "cart" },
      protocol: "tcp",
      port: 80,
      timeoutSeconds: 90,
      keep: true,
      kube: { namespace: "shop", context: "prod", kubeconfig: "/tmp/kc", allNamespaces: false },
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

import { describe, expect, it } from "vitest";
import { main } from "../main.js";
import { argv, captureIo } from "../test/io.js";
import { complete } from "./completion.js";
import { buildProgram } from "./program.js";

describe("kubectl netmap CLI", () => {
  it("prints the package version", async () => {
    const c = captureIo();
    expect(await main(argv("--version"), c.io)).toBe(0);
    expect(c.out().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("has help with examples and kubectl's flags", async () => {
    const c = captureIo();
    expect(await main(argv("--help"), c.io)).toBe(0);
    const help = c.out();
    expect(help).toContain("Usage: kubectl netmap");
    for (const s of [
      "Examples:",
      "-n, --namespace",
      "--context",
      "--kubeconfig",
      "trace",
      "snapshot",
      "pod",
      "completion",
    ]) {
      expect(help).toContain(s);
    }
    for (const line of help.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    const t = captureIo();
    expect(await main(argv("trace", "--help"), t.io)).toBe(0);
    expect(t.out()).toContain("--snapshots <dir>");
    expect(t.out()).toContain("kubectl netmap trace --snapshots ./snap");
  });

  it("lists the valid values of an unknown flag value (exit 1)", async () => {
    const c = captureIo();
    expect(await main(argv("trace", "--snapshots", "x", "a", "b", "-o", "html"), c.io)).toBe(1);
    expect(c.err()).toMatch(/Allowed choices are tui, text, json, yaml, mermaid/);
    const p = captureIo();
    expect(await main(argv("trace", "--snapshots", "x", "a", "b", "--protocol", "sctp"), p.io)).toBe(1);
    expect(p.err()).toMatch(/Allowed choices are tcp, udp, icmp/);
    const q = captureIo();
    expect(await main(argv("trace", "--snapshots", "x", "a", "b", "--port", "70000"), q.io)).toBe(1);
    expect(q.err()).toMatch(/between 1 and 65535/);
    const e = captureIo();
    expect(await main(argv("trace", "--snapshots", "x", "a", "b", "--endpoint", "ten"), e.io)).toBe(1);
    expect(e.err()).toMatch(/endpoint index/);
  });

  it("suggests a misspelt flag", async () => {
    const c = captureIo();
    expect(await main(argv("trace", "--snapshots", "x", "--protocl", "udp", "a", "b"), c.io)).toBe(1);
    expect(c.err()).toMatch(/Did you mean --protocol/);
  });

  it("prints the probe's SnapshotError and hint for a missing snapshot directory", async () => {
    const c = captureIo();
    const code = await main(argv("trace", "--snapshots", "/nonexistent/snap", "a", "b", "-o", "json"), c.io);
    expect(code).toBe(1);
    expect(c.err()).toMatch(/^error: snapshot directory \/nonexistent\/snap does not exist\nhint: .+/);
    expect(c.out()).toBe("");
  });

  it("prints completion scripts for bash, zsh and fish", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const c = captureIo();
      expect(await main(argv("completion", shell), c.io)).toBe(0);
      expect(c.out()).toContain("kubectl-netmap __complete");
    }
    const bad = captureIo();
    expect(await main(argv("completion", "powershell"), bad.io)).toBe(1);
    expect(bad.err()).toMatch(/Allowed choices are bash, zsh, fish/);
  });

  it("completes subcommands, flags and flag values from the command tree", async () => {
    const program = buildProgram(captureIo().io);
    expect(complete(program, ["tr"]).candidates).toEqual(["trace"]);
    expect(complete(program, ["trace", "--pro"]).candidates).toEqual(["--protocol"]);
    expect(complete(program, ["trace", "--protocol", ""]).candidates).toEqual(["tcp", "udp", "icmp"]);
    expect(complete(program, ["trace", "-o", "j"]).candidates).toEqual(["json"]);
    expect(complete(program, ["trace", "--snapshots", ""])).toEqual({ candidates: [], directive: 0 });
    const c = captureIo();
    expect(await main(argv("__complete", "trace", "-o", ""), c.io)).toBe(0);
    expect(c.out()).toBe("tui\ntext\njson\nyaml\nmermaid\n:4\n");
  });
});

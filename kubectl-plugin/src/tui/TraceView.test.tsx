import type { TraceResult } from "@netmap/core";
import { render } from "ink-testing-library";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadTrace } from "../testdata/traces/index.js";
import { App } from "./App.js";
import { TraceView } from "./TraceView.js";

// These tests are about an interactive terminal. Ink reads CI when it is imported and, in CI, renders
// only the last frame: clear it before the imports above run (vi.hoisted), and restore it after.
const ciEnv = vi.hoisted(() => {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  return saved;
});
afterAll(() => {
  for (const [k, v] of Object.entries(ciEnv)) if (v !== undefined) process.env[k] = v;
});

const DOWN = "\u001b[B";
const UP = "\u001b[A";
const ENTER = "\r";
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colours from frames
const plain = (s: string | undefined) => (s ?? "").replace(/\u001b\[[0-9;]*m/g, "");
const tick = () => new Promise((r) => setTimeout(r, 40));
/** Retries `check` until it passes or a second has gone by: Ink throttles its renders. */
async function eventually(check: () => void): Promise<void> {
  const until = Date.now() + 1000;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
const selectedLine = (frame: string) => frame.split("\n").find((l) => l.startsWith("▸")) ?? "";

function view(result: TraceResult, width = 80, height = 60, onCopy = (c: string) => `copied: ${c}`) {
  return render(<TraceView result={result} width={width} height={height} onCopy={onCopy} />);
}

describe("TraceView on a real cross-node trace", () => {
  const result = loadTrace("cross-node-tcp");

  it("shows the request and then the reply, each grouped by node and netns with its tunnel, and the verdict", () => {
    const frame = plain(view(result, 80, 90).lastFrame());
    const order = [
      "── request: tcp 10.244.1.2 → 10.244.2.2:8080",
      "node-1",
      "pod netmap-lab/pod-1-1",
      "host netns",
      "⇣ vxlan flannel.1 VNI 1",
      "node-2",
      "pod netmap-lab/pod-2-1",
      // The CNI bridge plugin masquerades pod traffic leaving its node (ipMasq): the reply goes to node-1's flannel.1 address.
      "── reply: tcp 10.244.2.2:8080 → 10.244.1.0",
      "node-2",
      "pod netmap-lab/pod-2-1",
      "⇣ vxlan flannel.1 VNI 1",
      "node-1",
      "pod netmap-lab/pod-1-1",
      "Delivered both ways at hop",
    ];
    let from = 0;
    const at = order.map((s) => {
      const i = frame.indexOf(s, from);
      if (i >= 0) from = i + s.length;
      return i;
    });
    expect(
      at.every((i) => i >= 0),
      frame,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    for (const line of frame.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
  });

  it("starts on the hop where the packet stopped and moves with j/k and arrows", async () => {
    const { stdin, lastFrame } = view(result);
    const last = result.stoppedAt ?? 0;
    expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${last} `));
    stdin.write("k");
    await tick();
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${last - 1} `)));
    stdin.write(UP);
    await tick();
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${last - 2} `)));
    stdin.write("j");
    await tick();
    stdin.write(DOWN);
    await tick();
    stdin.write(DOWN);
    await tick();
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${last} `)));
    stdin.write("g");
    await tick();
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(/^▸ +0 /));
  });

  it("acts on every key of a burst that arrives in one read (a held key, a paste, a slow terminal)", async () => {
    const { stdin, lastFrame } = view(result);
    const last = result.stoppedAt ?? 0;
    expect(last).toBeGreaterThan(4);
    stdin.write("kkk");
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${last - 3} `)));
    stdin.write("jk\rj");
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${last - 2} `)));
    const hop = result.hops[last - 3];
    expect(plain(lastFrame())).toContain(`$ ${hop?.command}`);
  });

  it("expands the selected hop with its evidence and command on Enter, and folds it again", async () => {
    const { stdin, lastFrame } = view(result);
    stdin.write("g");
    await tick();
    const hop = result.hops[0];
    if (!hop) throw new Error("empty trace");
    expect(plain(lastFrame())).not.toContain(`$ ${hop.command}`);
    stdin.write(ENTER);
    await eventually(() => expect(plain(lastFrame())).toContain(`$ ${hop.command}`));
    expect(plain(lastFrame())).toContain(`from ${hop.evidence[0]?.source}`);
    stdin.write(ENTER);
    await tick();
    await eventually(() => expect(plain(lastFrame())).not.toContain(`$ ${hop.command}`));
  });

  it("hands the selected hop's command to onCopy on c and shows the status", async () => {
    const copied: string[] = [];
    const { stdin, lastFrame } = view(result, 80, 60, (c) => {
      copied.push(c);
      return `will print on exit: ${c}`;
    });
    stdin.write("g");
    await tick();
    stdin.write("c");
    await eventually(() => expect(copied).toEqual([result.hops[0]?.command]));
    await eventually(() => expect(plain(lastFrame())).toContain("will print on exit:"));
  });

  it("quits on q: the app unmounts and ignores further keys", async () => {
    const instance = view(result);
    instance.stdin.write("q");
    await tick();
    instance.stdin.write("g");
    await tick();
    await eventually(() =>
      expect(selectedLine(plain(instance.lastFrame()))).toMatch(new RegExp(`^▸ +${result.stoppedAt} `)),
    );
  });

  it("scrolls in a short terminal, keeping the selected hop on screen", async () => {
    const { stdin, lastFrame } = view(result, 80, 14);
    stdin.write("g");
    await tick();
    await eventually(() => expect(plain(lastFrame()).split("\n").length).toBeLessThanOrEqual(14));
    for (let i = 0; i < result.hops.length; i++) {
      stdin.write("j");
      await tick();
      const frame = plain(lastFrame());
      expect(frame.split("\n").length).toBeLessThanOrEqual(14);
      expect(selectedLine(frame)).toMatch(new RegExp(`^▸ +${Math.min(i + 1, result.hops.length - 1)} `));
    }
  });

  it("drops the action and device columns below 60 columns", () => {
    const wide = selectedLine(plain(view(result, 80).lastFrame()));
    const narrow = plain(view(result, 50).lastFrame());
    for (const line of narrow.split("\n")) expect([...line].length).toBeLessThanOrEqual(50);
    expect(wide).toContain("deliver");
    expect(selectedLine(narrow)).not.toContain("deliver ");
    expect(narrow).toContain("j/k move");
  });
});

describe("TraceView on a real Service trace", () => {
  it("lists every endpoint under the Service hop with its probability, the followed one marked, even with nft's long chain names", () => {
    for (const name of ["service-clusterip-iptables", "service-clusterip-nftables"] as const) {
      const result = loadTrace(name);
      const frame = plain(view(result, 80, 80).lastFrame());
      const endpoints = result.hops.find((h) => h.endpoints)?.endpoints ?? [];
      expect(endpoints, `${name} has a Service hop with its endpoints`).toHaveLength(3);
      for (const e of endpoints) {
        const line = frame.split("\n").find((l) => l.includes(` 33.3% ${e.address} `));
        expect(line, frame).toBeDefined();
        expect(line?.trimStart().startsWith("→")).toBe(e.chosen);
        expect(line?.endsWith(" (followed)")).toBe(e.chosen);
      }
    }
  });

  it("says a ClientIP Service is sticky under its hop, and Enter shows the rules that make it so", async () => {
    const result = loadTrace("service-sticky-iptables");
    const svc = result.hops.findIndex((h) => h.affinity);
    const { stdin, lastFrame } = view(result, 80, 80);
    expect(plain(lastFrame())).toContain("sticky: ClientIP for 10800s (later connections from 10.244.1.3");
    stdin.write("g");
    await tick();
    for (let i = 0; i < svc; i++) {
      stdin.write("j");
      await tick();
    }
    await eventually(() => expect(selectedLine(plain(lastFrame()))).toMatch(new RegExp(`^▸ +${svc} `)));
    stdin.write(ENTER);
    await eventually(() => expect(plain(lastFrame())).toContain("sticky, from iptables-save:103"));
    const frame = plain(lastFrame());
    expect(frame).toMatch(/^ +same endpoint, 10\.244\.2\.2:8080\)$/m);
    expect(frame).toContain("sticky, from iptables-save:78");
    expect(frame).toMatch(/│ .*-m recent --rcheck\n +│ --seconds 10800 --reap/);
    for (const line of frame.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
  });
});

describe("TraceView findings", () => {
  it("marks the finding on its hop", () => {
    const result = loadTrace("cross-node-mtu");
    const f = result.findings[0];
    const frame = plain(view(result).lastFrame());
    const hopLine = frame.split("\n").find((l) => new RegExp(`^.! *${f?.hop} `).test(l));
    expect(hopLine, frame).toBeDefined();
    expect(frame).toContain(`! ${f?.code}:`);
  });
});

describe("App", () => {
  it("shows live progress from the source, then the result", async () => {
    const result = loadTrace("same-node-icmp");
    let finish: (r: TraceResult) => void = () => {};
    const source = {
      description: "test",
      run: (onProgress: (e: { node?: string; message: string; elapsedMs: number }) => void) => {
        onProgress({ node: "node-1", message: "assembling node state", elapsedMs: 5 });
        return new Promise<TraceResult>((resolve) => {
          finish = resolve;
        });
      },
    };
    const { lastFrame } = render(
      <App source={source} width={80} height={40} onCopy={(c) => c} onError={() => {}} />,
    );
    await tick();
    await eventually(() => expect(plain(lastFrame())).toMatch(/node-1: assembling node state {2}\d+\.\ds/));
    finish(result);
    await tick();
    await eventually(() => expect(plain(lastFrame())).toContain("Delivered both ways at hop"));
  });

  it("hands a failing source's error to onError", async () => {
    const errors: unknown[] = [];
    const source = { description: "x", run: () => Promise.reject(new Error("operator missing")) };
    render(<App source={source} width={80} height={40} onCopy={(c) => c} onError={(e) => errors.push(e)} />);
    await tick();
    expect(errors.map((e) => (e as Error).message)).toEqual(["operator missing"]);
  });
});

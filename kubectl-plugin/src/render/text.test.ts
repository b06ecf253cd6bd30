import { describe, expect, it } from "vitest";
import { loadTrace, TRACE_NAMES } from "../testdata/traces/index.js";
import { renderText } from "./text.js";

describe("renderText on real engine traces", () => {
  for (const name of TRACE_NAMES) {
    it(`${name}: stable tree`, async () => {
      const result = loadTrace(name);
      const text = renderText(result);
      await expect(text).toMatchFileSnapshot(`__snapshots__/text/${name}.txt`);
      const verbose = renderText(result, { verbose: true });
      await expect(verbose).toMatchFileSnapshot(`__snapshots__/text/${name}.verbose.txt`);
      for (const out of [text, verbose]) {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting the absence of escapes
        expect(out).not.toMatch(/\u001b/);
        for (const line of out.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
      }
      for (const hop of result.hops)
        expect(text).toMatch(new RegExp(`^ {4} *${hop.index}  ${hop.primitive}`, "m"));
      expect(text).toContain(`verdict: ${result.verdict}`);
    });
  }

  it("groups a cross-node path by node, then netns, with the tunnel between nodes", () => {
    const text = renderText(loadTrace("cross-node-tcp"));
    const order = [
      "\nnode-1\n",
      "  pod netmap-lab/pod-1-1",
      "  host netns",
      "~ tunnel vxlan flannel.1 VNI 1",
      "\nnode-2\n",
      "  pod netmap-lab/pod-2-1",
    ];
    const at = order.map((s) => text.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("marks findings on their hop and stops a dropped packet at its hop", () => {
    const mtu = loadTrace("cross-node-mtu");
    const f = mtu.findings[0];
    if (!f || f.hop === undefined) throw new Error("expected a finding with a hop");
    const lines = renderText(mtu).split("\n");
    const hopLine = lines.findIndex((l) => new RegExp(`^ +${f.hop}  `).test(l));
    const markLine = lines.findIndex((l) => l.includes(`! ${f.code}:`));
    expect(markLine).toBeGreaterThan(hopLine);
    const dropped = renderText(loadTrace("no-route-dropped"));
    expect(dropped).toMatch(/x dropped here/);
    expect(dropped).toMatch(/! NO_ROUTE:/);
  });

  it("lists what was missing for an Unknown verdict", () => {
    const result = loadTrace("missing-node-unknown");
    const text = renderText(result);
    expect(text).toContain("verdict: Unknown");
    for (const m of result.missing ?? []) expect(text.replace(/\s+/g, " ")).toContain(m.replace(/\s+/g, " "));
  });

  it("narrows to 40 columns without losing hops", () => {
    const result = loadTrace("cross-node-tcp");
    const text = renderText(result, { width: 40 });
    for (const line of text.split("\n")) expect([...line].length).toBeLessThanOrEqual(40);
  });
});

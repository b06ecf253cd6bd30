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
    expect(result.missing?.length, "the trace names what was missing").toBeGreaterThan(0);
    for (const m of result.missing ?? []) expect(text.replace(/\s+/g, " ")).toContain(m.replace(/\s+/g, " "));
  });

  it("shows every endpoint of a Service hop with its probability, marks the followed one, and the DNAT'd destination", () => {
    for (const name of ["service-clusterip-iptables", "service-clusterip-nftables"] as const) {
      const result = loadTrace(name);
      const text = renderText(result);
      const svc = result.hops.find((h) => h.endpoints);
      const chosen = svc?.endpoints?.find((e) => e.chosen);
      if (!svc?.endpoints || !chosen) throw new Error(`${name} has no Service hop`);
      expect(svc.endpoints).toHaveLength(3);
      for (const e of svc.endpoints) {
        const mark = e.chosen ? "->" : "  ";
        expect(text).toMatch(new RegExp(`^ +${mark}  33\\.3%  ${e.address.replace(/\./g, "\\.")}  `, "m"));
      }
      expect(text).toMatch(new RegExp(`${chosen.address.replace(/\./g, "\\.")} +\\S+  \\(followed\\)$`, "m"));
      const dnat = result.hops.find((h) => h.action === "dnat");
      expect(`${dnat?.packet?.dst}:${dnat?.packet?.dport}`).toBe(chosen.address);
      expect(text.replace(/\s+/g, " ")).toContain(`DNAT to ${chosen.address}`);
    }
  });

  it("says under the Service hop that a ClientIP Service is sticky, for how long and for which client", () => {
    for (const name of ["service-sticky-iptables", "service-sticky-nftables"] as const) {
      const result = loadTrace(name);
      const svc = result.hops.find((h) => h.affinity);
      const lines = renderText(result).split("\n");
      const hopLine = lines.findIndex((l) => new RegExp(`^ +${svc?.index}  `).test(l));
      const sticky = lines.findIndex((l) => l.trimStart().startsWith("sticky: "));
      expect(sticky).toBeGreaterThan(hopLine);
      expect(lines.slice(hopLine, sticky).some((l) => l.includes("(followed)"))).toBe(true);
      expect(
        lines
          .slice(sticky, sticky + 2)
          .join(" ")
          .replace(/\s+/g, " ")
          .trim(),
      ).toBe(
        "sticky: ClientIP for 10800s (later connections from 10.244.1.3 go to the same endpoint, 10.244.2.2:8080)",
      );
    }
    for (const name of ["service-clusterip-iptables", "service-nodeport-nftables"] as const) {
      expect(renderText(loadTrace(name))).not.toContain("sticky:");
    }
  });

  it("lists the rules that make a Service sticky with -v", () => {
    const verbose = renderText(loadTrace("service-sticky-iptables"), { verbose: true });
    expect(verbose).toMatch(
      /sticky, from iptables-save, line 103:\n +\| \[0:0\] -A KUBE-SVC-NCMABMBZWYXGNSTI/,
    );
    const joined = verbose.replace(/\n +\| /g, " ");
    expect(joined).toContain("-m recent --rcheck --seconds 10800 --reap");
    expect(joined).toContain("-m recent --set --name KUBE-SEP-66P6DVPXWNZXQOUU");
    // nft's long set names are cut mid-word: compare without the wrapping.
    const nft = renderText(loadTrace("service-sticky-nftables"), { verbose: true }).replace(
      /\n +\| |\s/g,
      "",
    );
    expect(nft).toContain("timeout3h;");
    expect(nft).toContain("update@affinity-M6KIFM6J-netmap-lab/sticky/tcp/http__10.244.2.2/8080{ipsaddr}");
  });

  it("stops a Service without endpoints at kube-proxy's reject, with SERVICE_NO_ENDPOINTS on that hop", () => {
    for (const name of ["service-no-endpoints-iptables", "service-no-endpoints-nftables"] as const) {
      const result = loadTrace(name);
      expect(result.verdict).toBe("Rejected");
      const lines = renderText(result).split("\n");
      const stop = lines.findIndex((l) =>
        new RegExp(`^ +${result.stoppedAt}  nft-rule|^ +${result.stoppedAt}  iptables-rule`).test(l),
      );
      expect(lines[stop]).toContain("reject");
      expect(lines.slice(stop).join("\n")).toMatch(/! SERVICE_NO_ENDPOINTS:[\s\S]*x rejected here/);
    }
  });

  it("narrows to 40 columns without losing hops", () => {
    const result = loadTrace("cross-node-tcp");
    const text = renderText(result, { width: 40 });
    for (const line of text.split("\n")) expect([...line].length).toBeLessThanOrEqual(40);
  });
});

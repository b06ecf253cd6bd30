import { describe, expect, it } from "vitest";
import { loadTrace, TRACE_NAMES } from "../testdata/traces/index.js";
import { escapeMermaid, renderMermaid } from "./mermaid.js";

/** The statement forms renderMermaid emits; anything else would be a syntax risk. */
const STATEMENT = [
  /^sequenceDiagram$/,
  /^ {2}%% .*$/,
  /^ {2}participant P\d+ as [^;#:<>%]*(#\w+;[^;#:<>%]*)*$/,
  /^ {2}P\d+(->>|-x|-->>|--x)P\d+: [^;:<>%]*(#\w+;[^;:<>%]*)*$/,
  /^ {2}Note (over|right of) P\d+: [^;:<>%]*(#\w+;[^;:<>%]*)*$/,
];

describe("renderMermaid on real engine traces", () => {
  for (const name of TRACE_NAMES) {
    it(`${name}: one arrow per hop, only safe statements`, async () => {
      const result = loadTrace(name);
      const src = renderMermaid(result);
      await expect(src).toMatchFileSnapshot(`__snapshots__/mermaid/${name}.mmd`);
      const lines = src.trimEnd().split("\n");
      for (const line of lines)
        expect(
          STATEMENT.some((re) => re.test(line)),
          line,
        ).toBe(true);
      const arrows = lines.filter((l) => /^ {2}P\d+(->>|-x|-->>|--x)P\d+: /.test(l));
      expect(arrows.length).toBe(result.hops.length);
      result.hops.forEach((hop, i) => {
        expect(arrows[i]).toContain(`: ${hop.index} ${hop.primitive} ${hop.action}`);
        // The reply's arrows are dashed, as a sequence diagram draws replies.
        expect(/^ {2}P\d+--/.test(arrows[i] ?? ""), arrows[i]).toBe(hop.direction === "reply");
      });
    });
  }

  it("has the pod netns, both host netns and the tunnel as participants of a cross-node trace", () => {
    const src = renderMermaid(loadTrace("cross-node-tcp"));
    const participants = src.split("\n").filter((l) => l.includes("participant"));
    expect(participants.map((l) => l.replace(/^ {2}participant P\d+ as /, ""))).toEqual([
      "netmap-lab/pod-1-1 (node-1)",
      "node-1 host",
      expect.stringMatching(/^vxlan flannel\.1 VNI 1#58; 172\.31\.\d+\.\d+ → 172\.31\.\d+\.\d+ udp\/8472$/),
      "node-2 host",
      "netmap-lab/pod-2-1 (node-2)",
      // The reply's tunnel, from node-2 back to node-1.
      expect.stringMatching(/^vxlan flannel\.1 VNI 1#58; 172\.31\.\d+\.2 → 172\.31\.\d+\.1 udp\/8472$/),
    ]);
  });

  it("notes a Service hop's endpoints and stickiness next to it, and the DNAT'd destination on its arrow", () => {
    const src = renderMermaid(loadTrace("service-sticky-iptables"));
    const lines = src.split("\n");
    const svc = lines.findIndex((l) => / 6 iptables-rule jump nat\/KUBE-SVC-/.test(l));
    expect(lines[svc + 1]).toBe(
      "  Note right of P1: endpoints 10.244.1.2#58;8080 33.3#37;, → 10.244.2.2#58;8080 33.3#37;, 10.244.3.2#58;8080 33.3#37;",
    );
    expect(lines[svc + 2]).toBe(
      "  Note right of P1: sticky#58; ClientIP for 10800s (later connections from 10.244.1.3 go to the same endpoint, 10.244.2.2#58;8080)",
    );
    expect(lines[svc + 3]).toMatch(
      /: 7 iptables-rule dnat nat\/KUBE-SEP-\w+ rule 2 → 10\.244\.2\.2#58;8080$/,
    );
    expect(renderMermaid(loadTrace("service-clusterip-iptables"))).not.toContain("sticky");
  });

  it("escapes what Mermaid would parse", () => {
    expect(escapeMermaid('a;b #c 50% <x> "q": y\nz')).toBe(
      "a#59;b #35;c 50#37; #lt;x#gt; #quot;q#quot;#58; y z",
    );
  });
});

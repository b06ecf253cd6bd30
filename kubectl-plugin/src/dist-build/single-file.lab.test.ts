/**
 * The distributable forms of the plugin run on their own: the single-file bundle under plain Node,
 * and the Node single executable (no Node on PATH needed), each tracing real lab snapshots.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const snapshots = fileURLToPath(new URL("../testdata/snapshots/lab-vxlan", import.meta.url));
const traceArgs = [
  "trace",
  "--snapshots",
  snapshots,
  "netmap-lab/pod-1-1",
  "netmap-lab/pod-2-1",
  "--port",
  "8080",
  "-o",
  "json",
];

describe("single-file distributions", () => {
  it("the Node single executable traces real snapshots with an empty PATH", () => {
    execFileSync(process.execPath, ["scripts/sea.mjs"], { cwd: root, stdio: "ignore", timeout: 120_000 });
    const exe = `${root}dist/sea/kubectl-netmap`;
    expect(
      execFileSync(exe, ["--version"], { env: { PATH: "" } })
        .toString()
        .trim(),
    ).toBe("0.1.0");
    const out = JSON.parse(execFileSync(exe, traceArgs, { env: { PATH: "" } }).toString()) as {
      verdict: string;
      hops: unknown[];
    };
    expect(out.verdict).toBe("Delivered");
    expect(out.hops.length).toBeGreaterThan(10);
  }, 180_000);

  it("the bundle runs under plain Node, copied away from any node_modules", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmap-bundle-"));
    try {
      const bundle = join(dir, "kubectl-netmap.mjs");
      copyFileSync(`${root}dist/bundle/kubectl-netmap.mjs`, bundle);
      const out = JSON.parse(
        execFileSync(process.execPath, [bundle, ...traceArgs], { cwd: dir }).toString(),
      ) as {
        verdict: string;
      };
      expect(out.verdict).toBe("Delivered");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

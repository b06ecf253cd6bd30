/**
 * The headless path (non-TTY, -o text/json/yaml/mermaid) must never load ink or react: run the
 * built CLI under a module hook that records every module it resolves.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tracePath } from "./testdata/traces/index.js";

const PLUGIN = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(PLUGIN, "bin/kubectl-netmap.js");
const SNAP = join(PLUGIN, "src/testdata/snapshots/lab-vxlan");

const HOOK = `
import { registerHooks } from "node:module";
import { appendFileSync } from "node:fs";
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    appendFileSync(process.env.NETMAP_MODULE_LOG, r.url + "\\n");
    return r;
  },
});
`;

function runLogged(
  args: string[],
  extraImport?: string,
): { code: number | null; stdout: string; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "netmap-headless-"));
  const hook = join(dir, "hook.mjs");
  const log = join(dir, "modules.log");
  writeFileSync(hook, HOOK);
  writeFileSync(log, "");
  const script = extraImport
    ? ["--input-type=module", "-e", `await import(${JSON.stringify(extraImport)});`]
    : [BIN, ...args];
  const r = spawnSync(process.execPath, ["--import", hook, ...script], {
    encoding: "utf8",
    env: { ...process.env, NETMAP_MODULE_LOG: log },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { code: r.status, stdout: r.stdout, modules: readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

const uiModule = (url: string) =>
  /\/node_modules\/(ink|react|react-reconciler)\//.test(url) || /\/dist\/tui\//.test(url);

describe.skipIf(!existsSync(join(PLUGIN, "dist/main.js")))("headless output (built CLI)", () => {
  it("the hook sees ink when the TUI module is imported (control)", () => {
    const r = runLogged([], join(PLUGIN, "dist/tui/run.js"));
    expect(r.modules.some(uiModule)).toBe(true);
  });

  for (const output of ["json", "yaml", "text", "mermaid"]) {
    it(`view -o ${output} loads neither ink nor react`, () => {
      const r = runLogged(["view", tracePath("cross-node-tcp"), "-o", output]);
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(100);
      expect(r.modules.filter(uiModule)).toEqual([]);
    });
  }

  it("trace --snapshots without -o on a pipe prints the text tree, without ink", () => {
    const r = runLogged(["trace", "--snapshots", SNAP, "pod-1-1", "pod-2-1", "--protocol", "icmp"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^trace icmp 10\.244\.1\.\d+ → 10\.244\.2\.\d+\n/);
    expect(r.stdout).toContain("verdict: Delivered");
    expect(r.modules.filter(uiModule)).toEqual([]);
  });
});

#!/usr/bin/env node
/**
 * Start time and peak RSS of kubectl-netmap, per form, from N runs each (wall time of the whole
 * process, peak RSS from /usr/bin/time's %M): the workspace build (bin/, dist/) and the single-file
 * bundle, for --version, an offline trace of the committed lab snapshots, and — given a kubeconfig
 * and the name of a finished NetworkTrace — the online form's `get` (kubeconfig, TLS, GET, watch
 * set-up, render). For reference, what importing @kubernetes/client-node alone costs.
 *
 *   node kubectl-plugin/scripts/measure-start.mjs [--runs 15] [--kubeconfig FILE -n NS --get NAME]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = Number(flag("--runs") ?? 15);
const kubeconfig = flag("--kubeconfig");
const namespace = flag("-n") ?? "default";
const getName = flag("--get");
const bin = join(root, "bin/kubectl-netmap.js");
const bundle = join(root, "dist/bundle/kubectl-netmap.mjs");
const snap = join(root, "src/testdata/snapshots/lab-vxlan");

function measure(label, argv) {
  const walls = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %M", process.execPath, ...argv], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: "1" },
    });
    const last = r.stderr.trim().split("\n").pop() ?? "";
    const [wall, kb] = last.split(" ").map(Number);
    if (r.status !== 0) {
      console.error(`${label}: exit ${r.status}\n${r.stderr}`);
      process.exit(1);
    }
    walls.push(wall * 1000);
    rss = Math.max(rss, kb);
  }
  walls.sort((a, b) => a - b);
  const at = (q) => walls[Math.min(walls.length - 1, Math.floor(q * walls.length))];
  console.log(
    `${label.padEnd(44)} median ${String(Math.round(at(0.5))).padStart(5)} ms  p90 ${String(Math.round(at(0.9))).padStart(5)} ms  peak RSS ${Math.round(rss / 1024)} MB`,
  );
}

console.log(
  `node ${process.version}, ${runs} runs each, load average ${(await import("node:os"))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
measure("node -e 0 (the floor)", ["-e", "0"]);
measure("import @kubernetes/client-node (reference)", [
  "--input-type=module",
  "-e",
  `await import(${JSON.stringify(join(root, "../node_modules/@kubernetes/client-node/dist/index.js"))})`,
]);
for (const [name, entry] of [
  ["bin", bin],
  ["bundle", bundle],
]) {
  if (!existsSync(entry)) {
    console.log(`${name}: ${entry} not built`);
    continue;
  }
  measure(`${name}: --version`, [entry, "--version"]);
  measure(`${name}: trace --snapshots (offline, text)`, [
    entry,
    "trace",
    "--snapshots",
    snap,
    "pod-1-1",
    "pod-2-1",
    "--protocol",
    "icmp",
    "-o",
    "text",
  ]);
  if (kubeconfig && getName)
    measure(`${name}: get ${getName} (online, text)`, [
      entry,
      "--kubeconfig",
      kubeconfig,
      "-n",
      namespace,
      "get",
      getName,
      "-o",
      "text",
    ]);
}

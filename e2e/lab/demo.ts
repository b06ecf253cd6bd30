/**
 * `npm run demo` (as root): the first look at netmap, no cluster needed.
 * Builds a two-node kernel lab (pods wired by the real CNI bridge plugin, flannel-style VXLAN
 * between the nodes), snapshots both nodes with the probe, destroys the lab, and runs the real
 * `kubectl netmap trace --snapshots …` on a cross-node path: the Ink TUI in a terminal, plain text
 * otherwise. The snapshots stay in the output directory for more traces.
 *
 *   sudo npm run demo [-- --out /tmp/netmap-demo] [-- --output text|json|yaml|mermaid]
 *   sudo npm run demo -- --online    the same cluster-side: API server, operator, probes (e2e/operator/demo.ts)
 */
import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLab } from "./lab.js";
import { log, snapshotLab } from "./snapshot.js";

const CLI = fileURLToPath(new URL("../../../kubectl-plugin/bin/kubectl-netmap.js", import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "/tmp/netmap-demo" },
      output: { type: "string", short: "o" },
      quiet: { type: "boolean", default: false },
      online: { type: "boolean", default: false },
    },
  });
  if (values.online) {
    const { onlineDemo } = await import("../operator/demo.js");
    return onlineDemo({ quiet: values.quiet, ...(values.output ? { output: values.output } : {}) });
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "netmap demo: the kernel lab creates network namespaces and needs root: sudo npm run demo\n",
    );
    return 1;
  }
  const deps = spawnSync("bash", [fileURLToPath(new URL("../../lab/install-deps.sh", import.meta.url))], {
    stdio: "inherit",
  });
  if (deps.status !== 0) return 1;
  const out = resolve(values.out);
  await rm(out, { recursive: true, force: true });
  const progress = values.quiet ? () => {} : log;
  const lab = await createLab({ name: "demo", nodes: 2, podsPerNode: 2, overlay: "vxlan" });
  progress("lab built", {
    nodes: lab.nodes.map((n) => n.name),
    pods: lab.pods.map((p) => `${p.name} ${p.ip} on ${p.node}`),
  });
  try {
    await snapshotLab(lab, out, progress);
  } finally {
    await lab.destroy();
    progress("lab destroyed: the trace below reads only the snapshots");
  }
  const [src, dst] = [lab.pods[0], lab.pods[lab.pods.length - 1]];
  if (!src || !dst) return 1;
  const args = [
    "trace",
    "--snapshots",
    out,
    `${src.namespace}/${src.name}`,
    `${dst.namespace}/${dst.name}`,
    "--port",
    "8080",
  ];
  if (values.output) args.push("-o", values.output);
  process.stderr.write(`\n$ kubectl netmap ${args.join(" ")}\n\n`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: "inherit" });
  process.stderr.write(
    `\nSnapshots kept in ${out}. Try:\n  kubectl netmap trace --snapshots ${out} ${src.ip} ${dst.ip} --protocol icmp -o text\n  kubectl netmap pod ${dst.ip} --snapshots ${out}\n`,
  );
  return r.status ?? 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`netmap demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);

/**
 * Builds a kernel lab, captures every node with the probe's collector (host netns =
 * /var/run/netns/<node netns>), writes the snapshots to a directory, and destroys the lab.
 * Produces the snapshots the repo ships for `kubectl netmap trace --snapshots`.
 *
 *   sudo node e2e/dist/lab/snapshot-lab.js --out <dir> [--name snap] [--nodes 2] [--pods 2]
 *        [--overlay vxlan|host-gw] [--cni bridge|kindnet] [--pod-mtu N] [--services iptables|nftables]
 *
 * --services loads kube-proxy's rules for the lab's Services (services.ts) into every node first.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createLab } from "./lab.js";
import { installServices } from "./services.js";
import { log, snapshotLab } from "./snapshot.js";

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", short: "o" },
      name: { type: "string", default: "snap" },
      nodes: { type: "string" },
      pods: { type: "string" },
      overlay: { type: "string", default: "vxlan" },
      cni: { type: "string", default: "bridge" },
      "pod-mtu": { type: "string" },
      services: { type: "string" },
    },
  });
  if (!values.out) throw new Error("--out <dir> is required: where to write the snapshots");
  const overlay = values.overlay;
  if (overlay !== "vxlan" && overlay !== "host-gw") throw new Error("--overlay must be vxlan or host-gw");
  const cni = values.cni;
  if (cni !== "bridge" && cni !== "kindnet") throw new Error("--cni must be bridge or kindnet");
  const services = values.services;
  if (services !== undefined && services !== "iptables" && services !== "nftables")
    throw new Error("--services must be iptables or nftables");
  const out = resolve(values.out);
  const podMtu = values["pod-mtu"] === undefined ? undefined : int(values["pod-mtu"], "pod-mtu", 0);
  const lab = await createLab({
    name: values.name,
    nodes: int(values.nodes, "nodes", 2),
    podsPerNode: int(values.pods, "pods", 2),
    overlay,
    cni,
    ...(podMtu === undefined ? {} : { podMtu }),
  });
  log("lab built", { lab: lab.name, nodes: lab.nodes.length, pods: lab.pods.length, overlay, cni });
  try {
    if (services) {
      const set = await installServices(lab, services);
      log("services installed", {
        mode: services,
        services: set.all.map((s) => `${s.model.name} ${s.clusterIP}`),
      });
    }
    await snapshotLab(lab, out, log);
  } finally {
    await lab.destroy();
    log("lab destroyed", { lab: lab.name });
  }
}

main().catch((e: unknown) => {
  log("snapshot-lab failed", { error: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
});

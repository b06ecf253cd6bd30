/** Captures every node of a lab with the probe's collector and writes `kubectl netmap` snapshots. */
import { collectNode, writeSnapshot } from "@netmap/probe";
import type { Lab } from "./lab.js";

export type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** Structured progress on stderr: one JSON object per line. */
export const log: Log = (msg, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
};

/** Writes one snapshot per lab node into `out`; pods carry their lab names (as the API server would give them). */
export async function snapshotLab(lab: Lab, out: string, progress: Log = log): Promise<void> {
  const pods = lab.pods.map((p) => ({ namespace: p.namespace, name: p.name, ips: [p.ip] }));
  for (const node of lab.nodes) {
    const capture = await collectNode({
      node: node.name,
      hostNetns: `/var/run/netns/${node.netns}`,
      pods,
      onProgress: (e) => progress("collect", { ...e }),
    });
    const dir = await writeSnapshot(out, capture);
    progress("snapshot written", { node: node.name, dir, netns: capture.netns.length });
  }
}

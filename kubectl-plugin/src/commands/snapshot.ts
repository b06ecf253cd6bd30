/** `kubectl netmap snapshot --node <name> -o <dir>`: capture one node's kernel state (read-only). */

import type { ProgressEvent as CollectProgress } from "@netmap/probe";
import type { Command } from "commander";
import { isHintedError, TraceFailedError, usageErrorFrom } from "../cli/errors.js";
import type { Io } from "../cli/io.js";
import { loadProbe, type Probe } from "../source/engine.js";

interface SnapshotOpts {
  node: string;
  hostNetns: string;
  output: string;
  podIp?: string[];
}

const EXAMPLES = `
Examples:
  # On a node (as root): this node's host netns (PID 1's) and its pods
  kubectl netmap snapshot --node node-1 -o ./snap

  # A kernel-lab node, whose host netns is the named netns lab-node-2
  kubectl netmap snapshot --host-netns lab-node-2 --node node-2 -o ./snap`;

/** "node-1 cni-1234 (2/5): capturing …" from a collector's progress event. */
export function formatCollectProgress(e: CollectProgress): string {
  const count = e.current !== undefined && e.total !== undefined ? ` (${e.current}/${e.total})` : "";
  return `${e.node}${e.netns ? ` ${e.netns}` : ""}${count}: ${e.message}`;
}

function collectIp(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Registers `snapshot`. */
export function registerSnapshot(
  program: Command,
  io: Io,
  probe: () => Promise<Pick<Probe, "collectNode" | "writeSnapshot">> = loadProbe,
): Command {
  return program
    .command("snapshot")
    .description("write one node's network state (host netns and its pods' netns) to a snapshot directory")
    .requiredOption("--node <name>", "the node's name, as the snapshot records it")
    .option(
      "--host-netns <path|name>",
      "the node's host netns: a path or a /var/run/netns name",
      "/proc/1/ns/net",
    )
    .requiredOption("-o, --output <dir>", "snapshot directory (several nodes may share one)")
    .option("--pod-ip <ip>", "only capture the pod netns holding this IP (repeatable)", collectIp)
    .addHelpText("after", EXAMPLES)
    .action(async (opts: SnapshotOpts) => {
      const { collectNode, writeSnapshot } = await probe();
      const started = Date.now();
      const onProgress = (e: CollectProgress): void => {
        io.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${formatCollectProgress(e)}\n`);
      };
      try {
        const capture = await collectNode({
          node: opts.node,
          hostNetns: opts.hostNetns,
          onProgress,
          ...(opts.podIp ? { podIps: opts.podIp } : {}),
        });
        const where = await writeSnapshot(opts.output, capture);
        const pods = capture.netns.filter((n) => n.manifest.netns !== "host").length;
        io.stderr.write(`wrote ${opts.node} (host netns + ${pods} pod netns) to ${where}\n`);
      } catch (err) {
        if (isHintedError(err)) throw usageErrorFrom(err);
        throw new TraceFailedError(
          `snapshot of ${opts.node} failed: ${err instanceof Error ? err.message : String(err)}`,
          {
            hint: "collectors need root (CAP_SYS_ADMIN to enter a netns) and iproute2 installed",
          },
        );
      }
    });
}

/** `kubectl netmap trace --snapshots <dir> <src> <dst>`: trace from snapshots, no cluster needed. */
import type { Protocol } from "@netmap/core";
import { type Command, Option } from "commander";
import type { Io } from "../cli/io.js";
import { kubeFlags } from "../cli/kube-flags.js";
import {
  outputOption,
  parseEndpoint,
  portOption,
  protocolOption,
  TRACE_OUTPUTS,
  type TraceOutput,
  verboseOption,
} from "../cli/options.js";
import { type OfflineDeps, OfflineSnapshotSource, type OfflineTraceRequest } from "../source/offline.js";
import { showTrace } from "./output.js";

interface TraceOpts {
  snapshots: string;
  port?: number;
  protocol: Protocol;
  endpoint?: number | string;
  output?: TraceOutput;
  verbose?: boolean;
}

const EXAMPLES = `
Examples:
  # Same-node ping between two pods, from the lab's snapshots
  kubectl netmap trace --snapshots ./snap 10.244.0.2 10.244.0.3 --protocol icmp

  # TCP to a Service's ClusterIP, following its second endpoint, as plain text
  kubectl netmap trace --snapshots ./snap pod-a 10.96.0.20 --port 80 --endpoint 1 -o text

  # The same path as a Mermaid diagram for an incident report
  kubectl netmap trace --snapshots ./snap default/pod-a default/pod-b --port 8080 -o mermaid`;

/** Registers `trace`. */
export function registerTrace(program: Command, io: Io, deps: OfflineDeps = {}): Command {
  return program
    .command("trace")
    .description("trace a packet between two pods from node snapshots (offline, no cluster needed)")
    .argument("<src>", "source pod: IP, name, namespace/name or netns name")
    .argument("<dst>", "destination: pod (as for <src>), svc/name, or any IP (e.g. a ClusterIP)")
    .requiredOption("--snapshots <dir>", "directory written by `kubectl netmap snapshot`")
    .addOption(portOption())
    .addOption(protocolOption())
    .addOption(
      new Option("--endpoint <n|ip:port>", "which Service endpoint to follow (index or address)").argParser(
        parseEndpoint,
      ),
    )
    .addOption(outputOption(TRACE_OUTPUTS, "tui on a terminal, else text"))
    .addOption(verboseOption())
    .addHelpText("after", EXAMPLES)
    .action(async (src: string, dst: string, opts: TraceOpts, cmd: Command) => {
      const req: OfflineTraceRequest = { snapshots: opts.snapshots, src, dst, protocol: opts.protocol };
      if (opts.port !== undefined) req.port = opts.port;
      if (opts.endpoint !== undefined) req.endpoint = opts.endpoint;
      const ns = kubeFlags(cmd, io.env).namespace;
      if (ns !== undefined) req.namespace = ns;
      const show = { verbose: opts.verbose === true, ...(opts.output ? { output: opts.output } : {}) };
      await showTrace(new OfflineSnapshotSource(req, deps), show, io);
    });
}

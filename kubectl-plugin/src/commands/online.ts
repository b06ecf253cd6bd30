/**
 * The online form on the root command, `kubectl netmap <src> <dst>`: parses and validates the
 * request now; the NetworkTrace source it feeds fails until the operator exists.
 */
import type { Protocol } from "@netmap/core";
import { type Command, Option } from "commander";
import { UsageError } from "../cli/errors.js";
import type { Io } from "../cli/io.js";
import { kubeFlags } from "../cli/kube-flags.js";
import {
  outputOption,
  portOption,
  protocolOption,
  TRACE_OUTPUTS,
  type TraceOutput,
  verboseOption,
} from "../cli/options.js";
import { closestMatches } from "../cli/suggest.js";
import {
  NetworkTraceSource,
  type OnlineTraceRequest,
  parseDestination,
  parseDuration,
  parseSource,
} from "../source/online.js";
import { showTrace } from "./output.js";

interface OnlineOpts {
  port?: number;
  protocol: Protocol;
  timeout: string;
  keep?: boolean;
  output?: TraceOutput;
  verbose?: boolean;
}

/** Parses the online form's arguments and flags into a request (exported for tests). */
export function buildOnlineRequest(
  src: string,
  dst: string,
  opts: OnlineOpts,
  cmd: Command,
  io: Io,
): OnlineTraceRequest {
  const kube = kubeFlags(cmd, io.env);
  const ns = kube.namespace ?? "default";
  const req: OnlineTraceRequest = {
    source: parseSource(src, ns),
    destination: parseDestination(dst, ns),
    protocol: opts.protocol,
    timeoutSeconds: parseDuration(opts.timeout),
    keep: opts.keep === true,
    kube,
  };
  if (req.timeoutSeconds <= 0) throw new UsageError("--timeout must be more than 0s");
  if (opts.port !== undefined) req.port = opts.port;
  if (opts.protocol === "icmp" && opts.port !== undefined)
    throw new UsageError("--port does not apply to icmp");
  return req;
}

/** Adds the online form's arguments, flags and action to the root command. */
export function configureOnline(program: Command, io: Io): Command {
  return program
    .argument("[src]", "source pod: pod-a, ns/pod-a or pod/pod-a")
    .argument("[dst]", "destination: a pod, svc/name, or an IP")
    .addOption(portOption())
    .addOption(protocolOption())
    .addOption(new Option("--timeout <duration>", "how long to wait for the trace").default("60s"))
    .addOption(new Option("--keep", "keep the NetworkTrace object afterwards"))
    .addOption(outputOption(TRACE_OUTPUTS, "tui on a terminal, else text"))
    .addOption(verboseOption())
    .action(async (src: string | undefined, dst: string | undefined, opts: OnlineOpts, cmd: Command) => {
      if (src === undefined) {
        cmd.help();
        return;
      }
      if (dst === undefined) {
        const sub = closestMatches(
          src,
          cmd.commands.map((c) => c.name()),
          1,
        )[0];
        throw new UsageError(
          `"${src}" is not a command, and a trace needs a source and a destination`,
          sub
            ? `did you mean \`kubectl netmap ${sub}\`?`
            : "kubectl netmap <src> <dst>, or kubectl netmap --help",
        );
      }
      const request = buildOnlineRequest(src, dst, opts, cmd, io);
      const show = { verbose: opts.verbose === true, ...(opts.output ? { output: opts.output } : {}) };
      await showTrace(new NetworkTraceSource(request), show, io);
    });
}

/**
 * The online form on the root command, `kubectl netmap <src> <dst>`: checks the names against the
 * cluster, creates a NetworkTrace (netmap.io/v1alpha1), follows it to its result, shows it as the
 * offline form shows a trace, deletes it unless --keep, and exits with the verdict's code.
 */
import type { Protocol } from "@netmap/core";
import { type Command, Option } from "commander";
import { UsageError } from "../cli/errors.js";
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
import { closestMatches } from "../cli/suggest.js";
import { Cluster } from "../kube/cluster.js";
import { planTrace } from "../kube/plan.js";
import { createTrace, deleteTrace } from "../kube/traces.js";
import { NetworkTraceSource } from "../source/networktrace.js";
import {
  MAX_TIMEOUT_SECONDS,
  type OnlineTraceRequest,
  parseDestination,
  parseDuration,
  parseSource,
} from "../source/online.js";
import { showNetworkTrace } from "./follow.js";

interface OnlineOpts {
  port?: number;
  protocol: Protocol;
  endpoint?: number | string;
  timeout: string;
  keep?: boolean;
  output?: TraceOutput;
  verbose?: boolean;
}

/**
 * Parses the online form's arguments and flags into a request (exported for tests). Bare names are
 * in `defaultNs`: -n, else the kubeconfig context's namespace.
 */
export function buildOnlineRequest(
  src: string,
  dst: string,
  opts: OnlineOpts,
  cmd: Command,
  io: Io,
  defaultNs = "default",
): OnlineTraceRequest {
  const kube = kubeFlags(cmd, io.env);
  const ns = kube.namespace ?? defaultNs;
  const req: OnlineTraceRequest = {
    source: parseSource(src, ns),
    destination: parseDestination(dst, ns),
    protocol: opts.protocol,
    timeoutSeconds: parseDuration(opts.timeout),
    keep: opts.keep === true,
    kube,
  };
  if (req.timeoutSeconds <= 0) throw new UsageError("--timeout must be more than 0s");
  if (req.timeoutSeconds > MAX_TIMEOUT_SECONDS)
    throw new UsageError(
      `--timeout ${opts.timeout} is longer than a NetworkTrace may run (${MAX_TIMEOUT_SECONDS / 60}m)`,
      "use --timeout 10m or less",
    );
  if (opts.port !== undefined) req.port = opts.port;
  if (opts.endpoint !== undefined) req.endpoint = opts.endpoint;
  if (opts.protocol === "icmp" && opts.port !== undefined)
    throw new UsageError("--port does not apply to icmp");
  return req;
}

/** Runs the online form: the request is already valid. */
async function runOnline(src: string, dst: string, opts: OnlineOpts, cmd: Command, io: Io): Promise<void> {
  const kube = kubeFlags(cmd, io.env);
  const cluster = await Cluster.connect(kube, { env: io.env, stdinIsTerminal: io.stdin.isTTY === true });
  try {
    const request = buildOnlineRequest(src, dst, opts, cmd, io, cluster.namespace);
    const plan = await planTrace(cluster, request);
    const trace = await createTrace(cluster, plan);
    const namespace = trace.metadata.namespace ?? plan.namespace;
    const name = trace.metadata.name ?? "";
    const source = new NetworkTraceSource({ cluster, trace, timeoutSeconds: request.timeoutSeconds });
    const show = { verbose: opts.verbose === true, ...(opts.output ? { output: opts.output } : {}) };
    try {
      await showNetworkTrace(source, show, io);
    } finally {
      if (request.keep) {
        io.stderr.write(
          `kept NetworkTrace ${namespace}/${name}: kubectl netmap get ${name} -n ${namespace}\n`,
        );
      } else {
        await deleteTrace(cluster, namespace, name).catch((err: unknown) => {
          io.stderr.write(
            `warning: could not delete NetworkTrace ${namespace}/${name} (${err instanceof Error ? err.message : String(err)}); the operator deletes it ${plan.spec.ttlSecondsAfterFinished}s after it finishes\n`,
          );
        });
      }
    }
  } finally {
    cluster.close();
  }
}

/** Adds the online form's arguments, flags and action to the root command. */
export function configureOnline(program: Command, io: Io): Command {
  return program
    .argument("[src]", "source: a pod (pod-a, ns/pod-a, pod/pod-a) or node/NAME")
    .argument("[dst]", "destination: a pod, svc/name, node/NAME, or an IP")
    .addOption(portOption())
    .addOption(protocolOption())
    .addOption(
      new Option("--endpoint <n|ip:port>", "which Service endpoint to follow (index or address)").argParser(
        parseEndpoint,
      ),
    )
    .addOption(new Option("--timeout <duration>", "how long the trace may take (at most 10m)").default("60s"))
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
      // Bad arguments fail before anything reads the kubeconfig.
      buildOnlineRequest(src, dst, opts, cmd, io);
      await runOnline(src, dst, opts, cmd, io);
    });
}

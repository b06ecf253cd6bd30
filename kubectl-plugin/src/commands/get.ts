/**
 * `kubectl netmap get NAME`: shows a NetworkTrace already in the cluster (one kept with --keep, or
 * created with kubectl) with the same renderers; a trace still running is followed to its result.
 * Exits with the verdict's code, like the online form.
 */
import type { NetworkTrace } from "@netmap/api";
import type { Command } from "commander";
import { Option } from "commander";
import { UsageError } from "../cli/errors.js";
import type { Io } from "../cli/io.js";
import { kubeFlags } from "../cli/kube-flags.js";
import { outputOption, TRACE_OUTPUTS, type TraceOutput, verboseOption } from "../cli/options.js";
import { closestMatches } from "../cli/suggest.js";
import { Cluster } from "../kube/cluster.js";
import { isApiError, NETWORK_TRACES } from "../kube/errors.js";
import { tracePath } from "../kube/traces.js";
import { NetworkTraceSource } from "../source/networktrace.js";
import { MAX_TIMEOUT_SECONDS, parseDuration } from "../source/online.js";
import { showNetworkTrace } from "./follow.js";

interface GetOpts {
  output?: TraceOutput;
  verbose?: boolean;
  timeout?: string;
}

const EXAMPLES = `
Examples:
  # A trace kept with --keep, as text, as a diagram
  kubectl netmap pod-a pod-b --port 8080 --keep
  kubectl netmap get pod-a-to-pod-b-x7k2q -o text
  kubectl netmap get pod-a-to-pod-b-x7k2q -n shop -o mermaid

  # The NetworkTraces of a namespace
  kubectl get ntrace -n shop`;

/** "ntrace/x", "networktrace/x", "networktraces.netmap.io/x" → "x". */
export function traceName(arg: string): string {
  const name = arg.replace(/^(?:ntrace|networktraces?(?:\.netmap\.io)?)\//, "");
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253)
    throw new UsageError(`"${arg}" is not a NetworkTrace name`, "kubectl get ntrace lists them");
  return name;
}

async function readTrace(cluster: Cluster, namespace: string, name: string): Promise<NetworkTrace> {
  const action = { verb: "get", resource: NETWORK_TRACES, namespace, name } as const;
  try {
    return await cluster.getRaw<NetworkTrace>(tracePath(namespace, name));
  } catch (err) {
    if (!isApiError(err) || err.status !== 404 || !err.details?.name) throw cluster.explain(err, action);
  }
  const list = await cluster.lookup<{ items?: NetworkTrace[] }>(`${tracePath(namespace)}?limit=1000`, {
    ...action,
    verb: "list",
  });
  const names = typeof list === "string" ? [] : (list.items ?? []).map((t) => t.metadata.name ?? "");
  const close = closestMatches(name, names);
  const ctx = cluster.connection.context ? ` --context ${cluster.connection.context}` : "";
  throw new UsageError(
    `NetworkTrace "${name}" not found in namespace ${namespace}`,
    close.length > 0
      ? `did you mean ${close.join(", ")}?`
      : `kubectl${ctx} get ntrace -n ${namespace} lists them${names.length === 0 ? " (there are none)" : ""}`,
  );
}

/** Registers `get`. */
export function registerGet(program: Command, io: Io): Command {
  return program
    .command("get")
    .description("show a NetworkTrace in the cluster (kept with --keep, or created with kubectl)")
    .argument("<name>", "the NetworkTrace's name (kubectl get ntrace lists them)")
    .addOption(outputOption(TRACE_OUTPUTS, "tui on a terminal, else text"))
    .addOption(verboseOption())
    .addOption(
      new Option(
        "--timeout <duration>",
        "how long to wait for a trace still running (default: its own timeout)",
      ),
    )
    .addHelpText("after", EXAMPLES)
    .action(async (arg: string, opts: GetOpts, cmd: Command) => {
      const name = traceName(arg);
      const timeout = opts.timeout !== undefined ? parseDuration(opts.timeout) : undefined;
      if (timeout !== undefined && (timeout <= 0 || timeout > MAX_TIMEOUT_SECONDS))
        throw new UsageError(`--timeout must be between 1s and ${MAX_TIMEOUT_SECONDS / 60}m`);
      const kube = kubeFlags(cmd, io.env);
      const cluster = await Cluster.connect(kube, { env: io.env, stdinIsTerminal: io.stdin.isTTY === true });
      try {
        const trace = await readTrace(cluster, cluster.namespace, name);
        const source = new NetworkTraceSource({
          cluster,
          trace,
          timeoutSeconds: timeout ?? trace.spec.timeoutSeconds ?? 30,
        });
        const show = { verbose: opts.verbose === true, ...(opts.output ? { output: opts.output } : {}) };
        await showNetworkTrace(source, show, io);
      } finally {
        cluster.close();
      }
    });
}

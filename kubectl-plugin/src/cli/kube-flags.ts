/** kubectl's own flags, with kubectl's names and semantics: -n, --context, --kubeconfig, -A. */
import { type Command, Option } from "commander";

/** The kubectl flags a command was given, merged with those given before the subcommand. */
export interface KubeFlags {
  /** -n/--namespace; undefined means "the context's namespace" (kubectl's default). */
  namespace?: string;
  context?: string;
  /**
   * --kubeconfig: that file only. Without it, the kubeconfig loader reads $KUBECONFIG (a
   * ":"-separated list, merged) or ~/.kube/config, as kubectl does.
   */
  kubeconfig?: string;
  /** -A/--all-namespaces, on commands that list. */
  allNamespaces: boolean;
}

/** Adds -n/--namespace, --context and --kubeconfig (and -A when `listing`) to a command. */
export function addKubeFlags(cmd: Command, opts: { listing?: boolean } = {}): Command {
  cmd
    .addOption(new Option("-n, --namespace <namespace>", "the namespace of pods named without one"))
    .addOption(new Option("--context <name>", "the kubeconfig context to use"))
    .addOption(
      new Option(
        "--kubeconfig <path>",
        "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)",
      ),
    );
  if (opts.listing) cmd.addOption(new Option("-A, --all-namespaces", "list across all namespaces"));
  return cmd;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/**
 * Reads the kubectl flags of `cmd`, falling back to those given on its ancestors
 * (`kubectl netmap -n x pod …`). $KUBECONFIG is not a flag: the kubeconfig loader merges its files.
 */
export function kubeFlags(cmd: Command, _env?: NodeJS.ProcessEnv): KubeFlags {
  const chain: Record<string, unknown>[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.push(c.opts());
  const get = (key: string): unknown => chain.find((o) => o[key] !== undefined)?.[key];
  const flags: KubeFlags = { allNamespaces: get("allNamespaces") === true };
  const namespace = str(get("namespace"));
  const context = str(get("context"));
  const kubeconfig = str(get("kubeconfig"));
  if (namespace) flags.namespace = namespace;
  if (context) flags.context = context;
  if (kubeconfig) flags.kubeconfig = kubeconfig;
  return flags;
}

/** kubectl's own flags, with kubectl's names and semantics: -n, --context, --kubeconfig (+ KUBECONFIG), -A. */
import { type Command, Option } from "commander";

/** The kubectl flags a command was given, merged with those given before the subcommand. */
export interface KubeFlags {
  /** -n/--namespace; undefined means "the context's namespace" (kubectl's default). */
  namespace?: string;
  context?: string;
  /** --kubeconfig, else $KUBECONFIG, else undefined (~/.kube/config). */
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
 * (`kubectl netmap -n x pod …`) and to $KUBECONFIG.
 */
export function kubeFlags(cmd: Command, env: NodeJS.ProcessEnv): KubeFlags {
  const chain: Record<string, unknown>[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.push(c.opts());
  const get = (key: string): unknown => chain.find((o) => o[key] !== undefined)?.[key];
  const flags: KubeFlags = { allNamespaces: get("allNamespaces") === true };
  const namespace = str(get("namespace"));
  const context = str(get("context"));
  const kubeconfig = str(get("kubeconfig")) ?? str(env.KUBECONFIG);
  if (namespace) flags.namespace = namespace;
  if (context) flags.context = context;
  if (kubeconfig) flags.kubeconfig = kubeconfig;
  return flags;
}

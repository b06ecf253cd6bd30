/**
 * The commander program: `kubectl netmap` with its subcommands, kubectl's flags, examples in
 * `--help`, `--version`, and errors routed to the caller's streams instead of process.exit.
 */
import { Argument, Command } from "commander";
import { registerGet } from "../commands/get.js";
import { configureOnline } from "../commands/online.js";
import { registerPod } from "../commands/pod.js";
import { registerSnapshot } from "../commands/snapshot.js";
import { registerTrace } from "../commands/trace-offline.js";
import { registerView } from "../commands/view.js";
import type { Probe } from "../source/engine.js";
import type { OfflineDeps } from "../source/offline.js";
import { pluginVersion } from "../version.js";
import { completeOutput, completionScript, SHELLS } from "./completion.js";
import type { Io } from "./io.js";
import { addKubeFlags } from "./kube-flags.js";

/** Engine/probe overrides for tests. */
export interface ProgramDeps extends OfflineDeps {
  collector?: () => Promise<Pick<Probe, "collectNode" | "writeSnapshot">>;
}

const EXAMPLES = `
Examples:
  # Trace pod-a → pod-b from snapshots of the nodes (no cluster needed)
  kubectl netmap snapshot --host-netns lab-node-1 --node node-1 -o ./snap
  kubectl netmap snapshot --host-netns lab-node-2 --node node-2 -o ./snap
  kubectl netmap trace --snapshots ./snap pod-a pod-b --protocol icmp

  # A Service, as a plain tree for an issue, or as a Mermaid diagram
  kubectl netmap trace --snapshots ./snap pod-a 10.96.0.20 --port 80 -o text
  kubectl netmap trace --snapshots ./snap pod-a 10.96.0.20 --port 80 -o mermaid

  # How one pod is wired
  kubectl netmap pod pod-b --snapshots ./snap

  # Online form: the netmap operator traces in the cluster
  # (kubectl's -n, --context, --kubeconfig and KUBECONFIG apply)
  kubectl netmap pod-a pod-b --port 8080
  kubectl netmap -n shop frontend-7d9 svc/cart --port 8080 -o text
  kubectl netmap pod-a 10.96.0.10 --port 80 --endpoint 1
  kubectl netmap node/worker-1 pod-b --protocol icmp --keep
  kubectl netmap get pod-a-to-pod-b-x7k2q -n shop    # one kept with --keep

Exit codes: 0 ok (a trace: delivered both ways), 1 usage or input error, 2 the
trace could not run, 3 Dropped, 4 Rejected, 5 Unknown, 130 interrupted.`;

/** Builds a fresh program writing to `io` (one per invocation: commander keeps parsed state). */
export function buildProgram(io: Io, deps: ProgramDeps = {}): Command {
  const program = new Command("kubectl netmap")
    .description("show hop by hop which Linux primitives a packet crosses between two pods")
    .version(pluginVersion(), "--version", "print the version")
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      getOutHelpWidth: () => 80,
      getErrHelpWidth: () => 80,
    })
    .addHelpText("after", EXAMPLES);
  addKubeFlags(program);
  configureOnline(program, io);

  const sub = (cmd: Command): Command =>
    addKubeFlags(
      cmd.exitOverride().configureOutput(program.configureOutput()).showSuggestionAfterError(),
      {},
    );
  sub(registerTrace(program, io, deps));
  sub(registerPod(program, io, deps));
  sub(registerView(program, io));
  sub(registerGet(program, io));
  sub(registerSnapshot(program, io, deps.collector));
  program
    .command("completion")
    .description("print a shell completion script")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  source <(kubectl-netmap completion bash)
  kubectl-netmap completion zsh > "\${fpath[1]}/_kubectl-netmap"
  kubectl-netmap completion fish | source

For \`kubectl netmap <TAB>\` (kubectl ≥ 1.26), put an executable kubectl_complete-netmap on PATH:
  printf '#!/bin/sh\\nexec kubectl-netmap __complete "$@"\\n' > kubectl_complete-netmap`,
    )
    .action((shell: (typeof SHELLS)[number]) => {
      io.stdout.write(completionScript(shell));
    });
  program
    .command("__complete", { hidden: true })
    .argument("[words...]")
    .passThroughOptions()
    .allowUnknownOption()
    .helpOption(false)
    .action((words: string[]) => {
      io.stdout.write(completeOutput(program, words));
    });
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  return program;
}

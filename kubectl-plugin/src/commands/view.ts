/** `kubectl netmap view <file|->`: show a saved trace result (`-o json|yaml` output) in any view. */
import type { Command } from "commander";
import { type Io, readAll } from "../cli/io.js";
import { outputOption, TRACE_OUTPUTS, type TraceOutput, verboseOption } from "../cli/options.js";
import { FileTraceSource } from "../source/file.js";
import { showTrace } from "./output.js";

const EXAMPLES = `
Examples:
  # Save a trace once, look at it many ways
  kubectl netmap trace --snapshots ./snap pod-a pod-b --port 80 -o json > trace.json
  kubectl netmap view trace.json
  kubectl netmap view trace.json -o mermaid
  cat trace.json | kubectl netmap view - -o text -v`;

/** Registers `view`. */
export function registerView(program: Command, io: Io): Command {
  return program
    .command("view")
    .description("show a saved trace result (JSON or YAML from -o json|yaml) as a tree, TUI or diagram")
    .argument("<file>", 'trace result file, or "-" for stdin')
    .addOption(outputOption(TRACE_OUTPUTS, "tui on a terminal, else text"))
    .addOption(verboseOption())
    .addHelpText("after", EXAMPLES)
    .action(async (file: string, opts: { output?: TraceOutput; verbose?: boolean }) => {
      const source = new FileTraceSource(file, () => readAll(io.stdin));
      const show = { verbose: opts.verbose === true, ...(opts.output ? { output: opts.output } : {}) };
      await showTrace(source, show, io);
    });
}

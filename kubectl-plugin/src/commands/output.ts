/**
 * One place that turns a TraceSource into output: the Ink TUI when stdout and stdin are a terminal
 * (loaded lazily, so the headless path never imports ink or react), otherwise the plain-text tree,
 * JSON, YAML or Mermaid.
 */
import type { TraceResult } from "@netmap/core";
import { type Io, outputWidth } from "../cli/io.js";
import type { TraceOutput } from "../cli/options.js";
import { renderJson, renderYaml } from "../render/data.js";
import { renderMermaid } from "../render/mermaid.js";
import { renderText } from "../render/text.js";
import type { ProgressEvent, TraceSource } from "../source/types.js";

/** How the user asked to see a trace. */
export interface ShowOptions {
  output?: TraceOutput;
  verbose: boolean;
}

/** CI systems set CI (or CONTINUOUS_INTEGRATION), as Ink and most tools read it; "0"/"false" mean no. */
function inCi(env: Io["env"]): boolean {
  return ["CI", "CONTINUOUS_INTEGRATION"].some(
    (k) => env[k] !== undefined && env[k] !== "0" && env[k] !== "false",
  );
}

/**
 * Decides the view: the TUI only on an interactive terminal outside CI, plain text otherwise (a CI
 * job with a pseudo-terminal is still headless, and Ink renders no frames there).
 */
export function chooseOutput(requested: TraceOutput | undefined, io: Io): TraceOutput {
  const interactive =
    io.stdout.isTTY === true && io.stdin.isTTY === true && io.env.TERM !== "dumb" && !inCi(io.env);
  if (requested === undefined || requested === "tui") return interactive ? "tui" : "text";
  return requested;
}

/** Renders a finished result in a headless format. */
export function renderResult(
  result: TraceResult,
  output: Exclude<TraceOutput, "tui">,
  width: number,
  verbose: boolean,
): string {
  switch (output) {
    case "json":
      return renderJson(result);
    case "yaml":
      return renderYaml(result);
    case "mermaid":
      return renderMermaid(result);
    case "text":
      return renderText(result, { width, verbose });
  }
}

/** A progress line for stderr: "[0.4s] node-1: assembling node state". */
export function formatProgress(e: ProgressEvent): string {
  return `[${(e.elapsedMs / 1000).toFixed(1)}s] ${e.node ? `${e.node}: ` : ""}${e.message}`;
}

/**
 * Runs the source and shows its result, and returns it (undefined when the user quit the TUI before
 * there was one). Errors (CliError) propagate to main, which sets the exit code.
 */
export async function showTrace(
  source: TraceSource,
  opts: ShowOptions,
  io: Io,
): Promise<TraceResult | undefined> {
  const output = chooseOutput(opts.output, io);
  if (opts.output === "tui" && output !== "tui") {
    io.stderr.write("note: -o tui needs an interactive terminal (and no CI); printing text instead\n");
  }
  if (output === "tui") {
    const { runTui } = await import("../tui/run.js");
    return runTui(source, { verbose: opts.verbose, env: io.env });
  }
  const progress =
    io.stderr.isTTY === true ? (e: ProgressEvent) => io.stderr.write(`${formatProgress(e)}\n`) : () => {};
  const result = await source.run(progress);
  io.stdout.write(renderResult(result, output, outputWidth(io), opts.verbose));
  return result;
}

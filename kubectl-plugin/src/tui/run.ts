/**
 * Starts the Ink TUI on the process's terminal. Only imported (lazily) by commands/output.ts when
 * stdout and stdin are a terminal: nothing on the headless path loads ink or react.
 */
import type { TraceResult } from "@netmap/core";
import { render } from "ink";
import { createElement } from "react";
import type { TraceSource } from "../source/types.js";
import { App } from "./App.js";
import { osc52, supportsOsc52 } from "./osc52.js";

/** Options of {@link runTui}. */
export interface TuiOptions {
  verbose: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * Shows the trace from `source` until the user quits. Commands queued with `c` (when the terminal
 * cannot take OSC 52) are printed after the TUI is gone. Resolves to the result (undefined when the
 * user quit before there was one); rejects with the source's error.
 */
export async function runTui(source: TraceSource, opts: TuiOptions): Promise<TraceResult | undefined> {
  const stdout = process.stdout;
  const queued: string[] = [];
  let failure: { err: unknown } | undefined;
  const osc = supportsOsc52(opts.env);
  const onCopy = (command: string): string => {
    if (osc) {
      stdout.write(osc52(command));
      return `copied to clipboard: ${command}`;
    }
    if (!queued.includes(command)) queued.push(command);
    return `will print on exit: ${command}`;
  };
  const size = () => ({ width: Math.max(20, stdout.columns || 80), height: Math.max(8, stdout.rows || 24) });
  const onError = (err: unknown): void => {
    failure = { err };
  };
  let result: TraceResult | undefined;
  const onResult = (r: TraceResult): void => {
    result = r;
  };
  const element = () =>
    createElement(App, { source, ...size(), onCopy, onError, onResult, expandAll: opts.verbose });
  const app = render(element(), { exitOnCtrlC: true, patchConsole: false });
  const onResize = () => app.rerender(element());
  stdout.on("resize", onResize);
  try {
    await app.waitUntilExit();
  } finally {
    stdout.off("resize", onResize);
  }
  if (failure) throw failure.err;
  for (const c of queued) stdout.write(`${c}\n`);
  return result;
}

/**
 * The TUI around a TraceSource: a live progress line (which node is being worked on, elapsed time)
 * while the trace runs, then the TraceView. The same for offline snapshots and a watched
 * NetworkTrace (whose progress names the node being walked as each node's result arrives).
 */
import type { TraceResult } from "@netmap/core";
import { Text, useApp } from "ink";
import { useEffect, useState } from "react";
import { truncate } from "../render/wrap.js";
import type { ProgressEvent, TraceSource } from "../source/types.js";
import { TraceView } from "./TraceView.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** Props of {@link App}. */
export interface AppProps {
  source: TraceSource;
  width: number;
  height: number;
  onCopy: (command: string) => string;
  /** Receives the error when the source fails; the app then exits. */
  onError: (err: unknown) => void;
  /** Receives the result when the source has one (for the exit code). */
  onResult?: (result: TraceResult) => void;
  interactive?: boolean;
  /** Start with every hop expanded (-v). */
  expandAll?: boolean;
  now?: () => number;
}

/** One progress line: "⠙ node-2: assembling node state  0.4s". */
export function ProgressLine({
  event,
  elapsedMs,
  frame,
  width,
}: {
  event?: ProgressEvent;
  elapsedMs: number;
  frame: number;
  width: number;
}) {
  const what = event ? `${event.node ? `${event.node}: ` : ""}${event.message}` : "starting";
  return (
    <Text>
      <Text color="cyan">{SPINNER[frame % SPINNER.length]} </Text>
      {truncate(`${what}  ${(elapsedMs / 1000).toFixed(1)}s`, Math.max(1, width - 2))}
    </Text>
  );
}

/** Runs the source, shows progress, then the result. */
export function App({
  source,
  width,
  height,
  onCopy,
  onError,
  onResult,
  interactive = true,
  expandAll = false,
  now = Date.now,
}: AppProps) {
  const { exit } = useApp();
  const [started] = useState(now);
  const [event, setEvent] = useState<ProgressEvent | undefined>();
  const [tick, setTick] = useState(0);
  const [done, setDone] = useState<{ result: TraceResult; elapsedMs: number } | undefined>();

  useEffect(() => {
    let live = true;
    source
      .run((e) => live && setEvent(e))
      .then(
        (result) => {
          if (!live) return;
          onResult?.(result);
          setDone({ result, elapsedMs: now() - started });
        },
        (err: unknown) => {
          if (!live) return;
          onError(err);
          exit();
        },
      );
    return () => {
      live = false;
    };
  }, [source, onError, onResult, exit, now, started]);

  useEffect(() => {
    if (done) return;
    const t = setInterval(() => setTick((n) => n + 1), 100);
    return () => clearInterval(t);
  }, [done]);

  if (!done)
    return (
      <ProgressLine {...(event ? { event } : {})} elapsedMs={now() - started} frame={tick} width={width} />
    );
  return (
    <TraceView
      result={done.result}
      width={width}
      height={height}
      onCopy={onCopy}
      interactive={interactive}
      expandAll={expandAll}
      elapsedMs={done.elapsedMs}
    />
  );
}

/**
 * The trace as a vertical flow: grouped by node and netns, one line per hop, coloured by layer,
 * findings marked, verdict at the end. ↑/↓ or j/k move, Enter expands a hop (evidence and
 * command), c copies or queues the command, q quits; every key of a burst read at once counts.
 */
import type { TraceResult } from "@netmap/core";
import { Box, Text, useApp, useInput } from "ink";
import { useRef, useState } from "react";
import { packetLabel, verdictLabel } from "../render/layout.js";
import { truncate } from "../render/wrap.js";
import { keyActions } from "./keys.js";
import { buildLines, NARROW, type Span, visibleWindow } from "./lines.js";
import { verdictColour } from "./theme.js";

/** Props of {@link TraceView}. */
export interface TraceViewProps {
  result: TraceResult;
  width: number;
  /** Terminal rows; the hop list scrolls within them. */
  height: number;
  /** Called with the selected hop's command on `c`; returns a status line ("copied …"). */
  onCopy: (command: string) => string;
  /** Keyboard input on (off when stdin is not a terminal). */
  interactive?: boolean;
  /** How long the trace took, for the header. */
  elapsedMs?: number;
  /** Start with every hop expanded (-v). */
  expandAll?: boolean;
}

function SpanText({ span }: { span: Span }) {
  return (
    <Text
      {...(span.colour ? { color: span.colour } : {})}
      bold={span.bold === true}
      dimColor={span.dim === true}
      inverse={span.inverse === true}
    >
      {span.text}
    </Text>
  );
}

/** Header, scrolling hop list, verdict and key help. */
export function TraceView({
  result,
  width,
  height,
  onCopy,
  interactive = true,
  elapsedMs,
  expandAll = false,
}: TraceViewProps) {
  const { exit } = useApp();
  const [selected, setSelectedState] = useState(result.stoppedAt ?? 0);
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(
    () => new Set(expandAll ? result.hops.map((_, i) => i) : []),
  );
  const [status, setStatus] = useState("");
  const start = useRef(0);
  // Keys can arrive faster than React re-renders: handlers read the selection from a ref.
  const current = useRef(selected);
  const count = result.hops.length;
  const select = (to: number): void => {
    current.current = Math.max(0, Math.min(count - 1, to));
    setSelectedState(current.current);
  };

  useInput(
    (input, key) => {
      for (const action of keyActions(input, key)) {
        const at = current.current;
        if (action === "quit") exit();
        else if (action === "down") select(at + 1);
        else if (action === "up") select(at - 1);
        else if (action === "first") select(0);
        else if (action === "last") select(count - 1);
        else if (action === "toggle") {
          setExpanded((prev) => {
            const next = new Set(prev);
            if (next.has(at)) next.delete(at);
            else next.add(at);
            return next;
          });
        } else {
          const hop = result.hops[at];
          if (hop) setStatus(onCopy(hop.command));
        }
      }
    },
    { isActive: interactive },
  );

  const lines = buildLines(result, { width, selected, expanded });
  const chrome = 5; // header, blank, verdict, findings/status, keys
  const window = visibleWindow(lines, selected, height - chrome, start.current);
  start.current = window.start;
  const took = elapsedMs !== undefined ? `  (${(elapsedMs / 1000).toFixed(1)}s)` : "";
  const errors = result.findings.filter((f) => f.severity === "error").length;
  const warnings = result.findings.filter((f) => f.severity === "warning").length;
  const keys =
    width < NARROW ? "j/k move ⏎ expand c cmd q quit" : "↑/↓ j/k move · ⏎ expand · c copy command · q quit";
  const more =
    window.start + window.lines.length < lines.length
      ? ` ↓${lines.length - window.start - window.lines.length}`
      : "";
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{truncate(`netmap ${packetLabel(result.packet)}${took}`, width)}</Text>
      {window.lines.map((line) => (
        <Text key={line.key} wrap="truncate">
          {line.spans.map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: spans are positional and never reorder
            <SpanText key={i} span={s} />
          ))}
        </Text>
      ))}
      <Text color={verdictColour(result.verdict)} bold wrap="truncate">
        {truncate(
          `${verdictLabel(result)}${result.stoppedAt !== undefined ? ` at hop ${result.stoppedAt}` : ""}: ${result.reason}`,
          width,
        )}
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(
          status ||
            `findings: ${errors} error(s), ${warnings} warning(s)${more ? ` ·${more} more lines` : ""}`,
          width,
        )}
      </Text>
      {interactive ? <Text dimColor>{truncate(keys, width)}</Text> : null}
    </Box>
  );
}

/**
 * What a failed walk tells the person who traced: the error, and what to do next. A tool's output
 * that netmap cannot read (truncated, garbled, or a version it does not know) is the node's to
 * show; the walk is read-only, so a retry is always safe.
 */

/** The message a probe writes to a segment it could not walk. */
export function walkFailure(err: unknown, node: string, probe: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const unreadable =
    (err instanceof Error && err.name === "ParseError") || /output is not JSON|not an? .* line/.test(message);
  const next = unreadable
    ? `; netmap could not read what a tool on node ${node} printed (cut short, garbled, or a format it does not know): trace again, and if it fails the same way run that command on ${node} to see its output`
    : "";
  return `${message}${next} (node ${node}, probe ${probe})`;
}

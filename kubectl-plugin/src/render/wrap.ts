/** Width-aware helpers for plain-text output: word wrapping, hard wrapping and truncation. */

/** Visible width of a string; plain text only (no escape codes), counting code points. */
export function textWidth(s: string): number {
  return [...s].length;
}

/** Cuts `s` to `width` columns, ending with "…" when something was cut. */
export function truncate(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  if (width <= 1) return chars.slice(0, width).join("");
  return `${chars.slice(0, width - 1).join("")}…`;
}

/** Pads `s` with spaces to `width` columns (truncating first if longer). */
export function pad(s: string, width: number): string {
  const t = truncate(s, width);
  return t + " ".repeat(Math.max(0, width - textWidth(t)));
}

/**
 * Word-wraps `s` into lines of at most `width` columns. Words longer than a line (rule text,
 * long chain names) are split hard rather than overflowing.
 */
export function wordWrap(s: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let line = "";
  for (const word of s.split(/\s+/).filter((x) => x.length > 0)) {
    let rest = word;
    while (textWidth(rest) > w) {
      if (line) {
        lines.push(line);
        line = "";
      }
      const chars = [...rest];
      lines.push(chars.slice(0, w).join(""));
      rest = chars.slice(w).join("");
    }
    if (!rest) continue;
    if (!line) line = rest;
    else if (textWidth(line) + 1 + textWidth(rest) <= w) line = `${line} ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * Wraps raw evidence into chunks of at most `width` columns, breaking after a space when one falls
 * in the second half of the line, else mid-word. Unlike {@link wordWrap}, whitespace is kept.
 */
export function hardWrap(s: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  let rest = [...s];
  while (rest.length > w) {
    const space = rest.lastIndexOf(" ", w - 1);
    const cut = space >= w / 2 ? space + 1 : w;
    out.push(rest.slice(0, cut).join("").trimEnd());
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || out.length === 0) out.push(rest.join(""));
  return out;
}

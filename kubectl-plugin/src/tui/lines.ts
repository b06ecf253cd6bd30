/**
 * The TUI's screen as data: every line it shows, already cut to the terminal's width, with the hop
 * it belongs to. Pure, so the layout (grouping, expansion, narrow terminals) is tested without Ink.
 */
import type { Finding, Hop, TraceResult } from "@netmap/core";
import type { PathSection } from "../render/layout.js";
import {
  affinityLabel,
  directionLabel,
  findingsByHop,
  formatProbability,
  hopBody,
  layoutDirections,
  netnsLabel,
  tunnelLabel,
} from "../render/layout.js";
import { hardWrap, pad, truncate, wordWrap } from "../render/wrap.js";
import { actionColour, type Colour, layerColour, severityColour } from "./theme.js";

/** A run of text with one style. */
export interface Span {
  text: string;
  colour?: Colour;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

/** One screen line; `hop` is the position (in result.hops) of the hop it belongs to, if any. */
export interface ViewLine {
  key: string;
  spans: Span[];
  hop?: number;
  /** True for the hop's own line (the one selection moves between). */
  head?: boolean;
}

/** What the view shows of the trace. */
export interface LineOptions {
  width: number;
  /** Position in result.hops of the selected hop. */
  selected: number;
  expanded: ReadonlySet<number>;
}

/** Below this width the action and device/rule columns are dropped. */
export const NARROW = 60;

function fit(spans: Span[], width: number): Span[] {
  const out: Span[] = [];
  let left = width;
  for (const s of spans) {
    if (left <= 0) break;
    const text = truncate(s.text, left);
    out.push({ ...s, text });
    left -= [...text].length;
  }
  return out;
}

function hopLines(hop: Hop, pos: number, findings: Finding[], opts: LineOptions): ViewLine[] {
  const selected = pos === opts.selected;
  const narrow = opts.width < NARROW;
  const mark = findings.length > 0 ? "!" : " ";
  const markColour = findings[0] ? severityColour(findings[0].severity) : undefined;
  const spans: Span[] = [
    { text: selected ? "▸" : " ", bold: true },
    { text: mark, ...(markColour ? { colour: markColour } : {}), bold: true },
    { text: `${String(hop.index).padStart(3)} `, dim: !selected },
    { text: pad(hop.primitive, narrow ? 14 : 15), colour: layerColour(hop.layer), bold: selected },
  ];
  const ac = actionColour(hop.action);
  if (!narrow) spans.push({ text: pad(hop.action, 11), ...(ac ? { colour: ac } : {}) });
  spans.push({ text: narrow ? hop.summary : hopBody(hop), inverse: selected });
  const lines: ViewLine[] = [{ key: `hop-${pos}`, hop: pos, head: true, spans: fit(spans, opts.width) }];
  const indent = narrow ? "    " : "       ";
  const sub = (key: string, spans2: Span[]): ViewLine => ({
    key: `hop-${pos}-${key}`,
    hop: pos,
    spans: fit(spans2, opts.width),
  });
  for (const [i, e] of (hop.endpoints ?? []).entries()) {
    // A long chain name (nft's endpoint-…) is cut, never the address, the probability or "(followed)".
    const head = `${e.chosen ? "→" : " "} ${formatProbability(e.probability).padStart(6)} ${e.address} `;
    const tail = e.chosen ? " (followed)" : "";
    const room = opts.width - indent.length - [...head].length - tail.length;
    const text = `${head}${room >= 4 ? truncate(e.via, room) : ""}${tail}`;
    lines.push(sub(`ep-${i}`, [{ text: indent }, { text, ...(e.chosen ? { bold: true } : { dim: true }) }]));
  }
  const open = opts.expanded.has(pos);
  const w = Math.max(10, opts.width - indent.length - 2);
  const sticky = affinityLabel(hop);
  if (sticky) {
    for (const [j, chunk] of (open ? wordWrap(sticky, w + 2) : [sticky]).entries()) {
      lines.push(sub(`sticky-${j}`, [{ text: indent }, { text: chunk, colour: "cyan" }]));
    }
  }
  for (const [i, f] of findings.entries()) {
    const text = `! ${f.code}: ${f.message}`;
    const chunks = open ? wordWrap(text, w + 2) : [text];
    for (const [j, chunk] of chunks.entries()) {
      lines.push(sub(`f-${i}-${j}`, [{ text: indent }, { text: chunk, colour: severityColour(f.severity) }]));
    }
  }
  if (open) {
    for (const [j, chunk] of wordWrap(hop.summary, w + 2).entries()) {
      lines.push(sub(`sum-${j}`, [{ text: indent }, { text: chunk }]));
    }
    for (const [i, e] of hop.evidence.entries()) {
      const where = e.line !== undefined ? `${e.source}:${e.line}` : e.source;
      lines.push(sub(`ev-${i}`, [{ text: indent }, { text: `from ${where}`, dim: true }]));
      for (const [j, chunk] of hardWrap(e.text, w).entries()) {
        lines.push(sub(`ev-${i}-${j}`, [{ text: `${indent}│ ` }, { text: chunk }]));
      }
    }
    for (const [i, e] of (hop.affinity?.evidence ?? []).entries()) {
      const where = e.line !== undefined ? `${e.source}:${e.line}` : e.source;
      lines.push(sub(`aff-${i}`, [{ text: indent }, { text: `sticky, from ${where}`, dim: true }]));
      for (const [j, chunk] of hardWrap(e.text, w).entries()) {
        lines.push(sub(`aff-${i}-${j}`, [{ text: `${indent}│ ` }, { text: chunk }]));
      }
    }
    for (const [j, chunk] of wordWrap(`$ ${hop.command}`, w + 2).entries()) {
      lines.push(sub(`cmd-${j}`, [{ text: indent }, { text: chunk, colour: "green" }]));
    }
  }
  return lines;
}

/** Every line of the trace view, in order. */
export function buildLines(result: TraceResult, opts: LineOptions): ViewLine[] {
  const lines: ViewLine[] = [];
  const findings = findingsByHop(result);
  const position = new Map(result.hops.map((h, i) => [h, i]));
  const directions = layoutDirections(result);
  for (const d of directions) {
    if (directions.length > 1) {
      const colour: Colour = d.result.direction === "reply" ? "blueBright" : "white";
      lines.push({
        key: `dir-${d.result.direction}`,
        spans: fit([{ text: `── ${directionLabel(d.result)} `, colour, bold: true }], opts.width),
      });
    }
    lines.push(...sectionLines(d.sections, position, findings, opts, lines.length));
  }
  return lines;
}

function sectionLines(
  sections: readonly PathSection[],
  position: ReadonlyMap<Hop, number>,
  findings: ReadonlyMap<number, TraceResult["findings"]>,
  opts: LineOptions,
  offset: number,
): ViewLine[] {
  const lines: ViewLine[] = [];
  const key = (kind: string) => `${kind}-${offset + lines.length}`;
  for (const section of sections) {
    if (section.kind === "tunnel") {
      lines.push({
        key: key("tunnel"),
        spans: fit([{ text: `⇣ ${tunnelLabel(section)}`, colour: "magentaBright" }], opts.width),
      });
      continue;
    }
    lines.push({
      key: key("node"),
      spans: fit([{ text: section.node.node, bold: true }], opts.width),
    });
    for (const group of section.node.groups) {
      lines.push({
        key: key("ns"),
        spans: fit([{ text: `  ${netnsLabel(group)}`, colour: "magenta" }], opts.width),
      });
      for (const hop of group.hops) {
        lines.push(...hopLines(hop, position.get(hop) ?? 0, findings.get(hop.index) ?? [], opts));
      }
    }
  }
  return lines;
}

/**
 * The slice of `lines` that fits `height` rows, scrolled as little as possible from `prevStart` so
 * that the selected hop's line (and as much of its expansion as fits) is visible, with a line of
 * context around it when there is room.
 */
export function visibleWindow(
  lines: ViewLine[],
  selected: number,
  height: number,
  prevStart = 0,
): { start: number; lines: ViewLine[] } {
  const h = Math.max(1, height);
  if (lines.length <= h) return { start: 0, lines };
  const head = Math.max(
    0,
    lines.findIndex((l) => l.hop === selected && l.head),
  );
  let last = head;
  while (last + 1 < lines.length && lines[last + 1]?.hop === selected && last + 1 - head < h - 1) last++;
  let start = prevStart;
  if (head - 1 < start) start = head - 1;
  if (last + 1 > start + h - 1) start = last + 1 - h + 1;
  if (start > head) start = head;
  start = Math.max(0, Math.min(start, lines.length - h));
  return { start, lines: lines.slice(start, start + h) };
}

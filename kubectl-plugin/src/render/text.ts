/**
 * The plain-text view of a trace: an indented tree grouped by node, then netns, one entry per hop.
 * No escape codes, deterministic, and every line fits `width` columns (default 80), so it can be
 * pasted into an issue or diffed in CI.
 */
import type { DirectionResult, EndpointChoice, Finding, Hop, TraceResult } from "@netmap/core";
import {
  affinityLabel,
  directionLabel,
  findingsByHop,
  formatProbability,
  hopBody,
  layoutDirections,
  netnsLabel,
  type PathSection,
  packetLabel,
  tunnelLabel,
  verdictLabel,
} from "./layout.js";
import { hardWrap, pad, truncate, wordWrap } from "./wrap.js";

/** Options of the text renderer. */
export interface TextOptions {
  /** Maximum line width; at least 40. Default 80. */
  width?: number;
  /** Adds each hop's evidence lines and the command that shows it by hand. */
  verbose?: boolean;
}

const HOP_INDENT = 4;
const INDEX_W = 3;
const PRIMITIVE_W = 15;
const ACTION_W = 11;

/**
 * Renders a trace as an indented plain-text tree; the result ends with a newline. A trace whose
 * request arrived has two sections, the request and the reply, each headed by its packet.
 */
export function renderText(result: TraceResult, opts: TextOptions = {}): string {
  const width = Math.max(40, opts.width ?? 80);
  const out: string[] = [];
  const findings = findingsByHop(result);
  out.push(...wordWrap(`trace ${packetLabel(result.packet)}`, width), "");
  const directions = layoutDirections(result);
  for (const [i, d] of directions.entries()) {
    if (directions.length > 1) out.push(...(i > 0 ? [""] : []), ...wordWrap(directionLabel(d.result), width));
    out.push(...renderSections(d.sections, result, findings, width, opts.verbose === true));
  }
  out.push(
    "",
    ...renderVerdict(
      result,
      directions.length > 1 ? directions.map((d) => d.result) : [],
      findings.get(-1) ?? [],
      width,
    ),
  );
  return `${out.join("\n")}\n`;
}

function renderSections(
  sections: readonly PathSection[],
  result: TraceResult,
  findings: Map<number, Finding[]>,
  width: number,
  verbose: boolean,
): string[] {
  const out: string[] = [];
  for (const section of sections) {
    if (section.kind === "tunnel") {
      out.push(...wrapWithIndent(`~ tunnel ${tunnelLabel(section)}`, width, 0, 4));
      continue;
    }
    out.push(section.node.node);
    for (const group of section.node.groups) {
      out.push(...wrapWithIndent(netnsLabel(group), width, 2, 4));
      for (const hop of group.hops) {
        out.push(...renderHop(hop, result, findings.get(hop.index) ?? [], width, verbose));
      }
    }
  }
  return out;
}

function renderHop(
  hop: Hop,
  result: TraceResult,
  findings: Finding[],
  width: number,
  verbose: boolean,
): string[] {
  const idx = String(hop.index).padStart(INDEX_W);
  const head = `${" ".repeat(HOP_INDENT)}${idx}  ${pad(hop.primitive, PRIMITIVE_W)}${pad(hop.action, ACTION_W)}`;
  const body = hopBody(hop);
  const bodyWidth = width - head.length;
  const lines = wordWrap(body, bodyWidth).map((l, i) => (i === 0 ? head : " ".repeat(head.length)) + l);
  const sub = " ".repeat(HOP_INDENT + INDEX_W + 2);
  if (hop.endpoints && hop.endpoints.length > 0) lines.push(...renderEndpoints(hop.endpoints, sub, width));
  const sticky = affinityLabel(hop);
  if (sticky) lines.push(...wrapWithIndent(sticky, width, sub.length, sub.length + 2));
  for (const f of findings) {
    lines.push(...wrapWithIndent(`! ${f.code}: ${f.message}`, width, sub.length, sub.length + 2));
  }
  if (hop.index === result.stoppedAt && (result.verdict === "Dropped" || result.verdict === "Rejected")) {
    lines.push(`${sub}x ${result.verdict.toLowerCase()} here`);
  }
  if (verbose) lines.push(...renderEvidence(hop, sub, width));
  return lines;
}

function renderEndpoints(endpoints: EndpointChoice[], indent: string, width: number): string[] {
  const lines = [`${indent}endpoints:`];
  const addrW = Math.max(...endpoints.map((e) => e.address.length));
  for (const e of endpoints) {
    const mark = e.chosen ? "->" : "  ";
    const head = `${indent}${mark} ${formatProbability(e.probability).padStart(6)}  ${e.address.padEnd(addrW)}  `;
    // A long chain name (nft's endpoint-…) is cut, never the address, the probability or "(followed)".
    const tail = e.chosen ? "  (followed)" : "";
    const room = width - [...head].length - tail.length;
    lines.push(truncate(`${head}${room >= 4 ? truncate(e.via, room) : ""}${tail}`, width));
  }
  return lines;
}

function renderEvidence(hop: Hop, indent: string, width: number): string[] {
  const lines = wrapWithIndent(`$ ${hop.command}`, width, indent.length, indent.length + 2);
  for (const e of hop.evidence) {
    const where = e.line !== undefined ? `${e.source}, line ${e.line}` : e.source;
    lines.push(...wrapWithIndent(`from ${where}:`, width, indent.length, indent.length + 2));
    for (const chunk of hardWrap(e.text, width - indent.length - 2)) lines.push(`${indent}| ${chunk}`);
  }
  for (const e of hop.affinity?.evidence ?? []) {
    const where = e.line !== undefined ? `${e.source}, line ${e.line}` : e.source;
    lines.push(...wrapWithIndent(`sticky, from ${where}:`, width, indent.length, indent.length + 2));
    for (const chunk of hardWrap(e.text, width - indent.length - 2)) lines.push(`${indent}| ${chunk}`);
  }
  return lines;
}

function renderVerdict(
  result: TraceResult,
  directions: readonly DirectionResult[],
  unattached: Finding[],
  width: number,
): string[] {
  const at = result.stoppedAt !== undefined ? ` at hop ${result.stoppedAt}` : "";
  const lines = wrapWithIndent(`verdict: ${verdictLabel(result)}${at}: ${result.reason}`, width, 0, 2);
  for (const d of directions) {
    const where = d.stoppedAt !== undefined ? ` at hop ${d.stoppedAt}` : "";
    lines.push(...wrapWithIndent(`${d.direction}: ${d.verdict}${where}`, width, 2, 4));
  }
  for (const m of result.missing ?? []) lines.push(...wrapWithIndent(`missing: ${m}`, width, 2, 4));
  for (const f of unattached) {
    lines.push(...wrapWithIndent(`! ${f.code} (${f.node}): ${f.message}`, width, 2, 4));
  }
  const counts = (["error", "warning", "info"] as const)
    .map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}${n === 1 ? "" : "s"}`);
  lines.push(`findings: ${counts.length > 0 ? counts.join(", ") : "none"}`);
  return lines;
}

/** Word-wraps `text` with `first` spaces before the first line and `rest` before the others. */
function wrapWithIndent(text: string, width: number, first: number, rest: number): string[] {
  const firstLines = wordWrap(text, width - first);
  const [head, ...tail] = firstLines;
  const restLines = tail.length > 0 ? wordWrap(tail.join(" "), width - rest) : [];
  return [" ".repeat(first) + (head ?? ""), ...restLines.map((l) => " ".repeat(rest) + l)];
}

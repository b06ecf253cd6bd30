/**
 * The path as a Mermaid `sequenceDiagram`: participants are the pod netns, the node host netns and
 * the tunnel between nodes; one arrow per hop, labelled with its primitive, the reply's dashed.
 * GitHub and most wikis render it, so a trace can go into an incident report as a picture.
 */
import type { Hop, TraceResult } from "@netmap/core";
import { affinityLabel, findingsByHop, formatProbability, packetLabel, tunnelLabel } from "./layout.js";

interface Participant {
  id: string;
  label: string;
}

/**
 * Escapes text for a Mermaid sequence diagram label: `;` ends a statement, `#` starts an entity,
 * `%%` a comment, `<`/`>` look like HTML, and `:` separates a message from its text.
 */
export function escapeMermaid(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/[#;%<>:"]/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = {
  "#": "#35;",
  ";": "#59;",
  "%": "#37;",
  "<": "#lt;",
  ">": "#gt;",
  ":": "#58;",
  '"': "#quot;",
};

/** Renders a trace as Mermaid source (no code fence); the result ends with a newline. */
export function renderMermaid(result: TraceResult): string {
  const participants = new Map<string, Participant>();
  const participantFor = (key: string, label: string): Participant => {
    let p = participants.get(key);
    if (!p) {
      p = { id: `P${participants.size}`, label };
      participants.set(key, p);
    }
    return p;
  };
  const netnsOf = (hop: Hop): Participant =>
    participantFor(
      `${hop.node}/${hop.netns}`,
      hop.netns === "host" ? `${hop.node} host` : `${hop.pod ?? hop.netns} (${hop.node})`,
    );

  const body: string[] = [];
  const findings = findingsByHop(result);
  let from: Participant | undefined;
  let tunnel: Participant | undefined;
  let tunnelNode: string | undefined;
  let direction: Hop["direction"] = "request";
  for (const hop of result.hops) {
    if (hop.direction !== direction) {
      // The reply starts over in the server's netns: dashed arrows from here on, as a sequence
      // diagram draws replies.
      direction = hop.direction;
      from = undefined;
      tunnel = undefined;
      const reply = result.directions.find((d) => d.direction === hop.direction);
      const start = netnsOf(hop);
      if (reply)
        body.push(
          `  Note over ${start.id}: ${escapeMermaid(`${reply.direction}: ${packetLabel(reply.packet)}`)}`,
        );
    }
    let to = netnsOf(hop);
    if (tunnel && hop.node !== tunnelNode) {
      from = tunnel;
      tunnel = undefined;
    } else if (tunnel && hop.layer === "underlay") {
      to = tunnel;
    }
    if (hop.action === "encap" && hop.outer) {
      tunnel = participantFor(
        `tunnel/${hop.index}`,
        tunnelLabel({
          kind: "tunnel",
          primitive: hop.primitive,
          ...hop.outer,
          ...(hop.device ? { device: hop.device } : {}),
        }),
      );
      tunnelNode = hop.node;
      to = tunnel;
    }
    const src = from ?? to;
    const stops = hop.action === "drop" || hop.action === "reject";
    const arrow = hop.direction === "reply" ? (stops ? "--x" : "-->>") : stops ? "-x" : "->>";
    const target = hop.rule ?? hop.device;
    const translated =
      hop.action === "dnat" && hop.packet
        ? ` → ${hop.packet.dst}${hop.packet.dport !== undefined ? `:${hop.packet.dport}` : ""}`
        : "";
    const label = `${hop.index} ${hop.primitive} ${hop.action}${target ? ` ${target}` : ""}${translated}`;
    body.push(`  ${src.id}${arrow}${to.id}: ${escapeMermaid(label)}`);
    if (hop.endpoints && hop.endpoints.length > 0) {
      const eps = hop.endpoints
        .map((e) => `${e.chosen ? "→ " : ""}${e.address} ${formatProbability(e.probability)}`)
        .join(", ");
      body.push(`  Note right of ${to.id}: ${escapeMermaid(`endpoints ${eps}`)}`);
    }
    const sticky = affinityLabel(hop);
    if (sticky) body.push(`  Note right of ${to.id}: ${escapeMermaid(sticky)}`);
    for (const f of findings.get(hop.index) ?? []) {
      body.push(`  Note over ${to.id}: ${escapeMermaid(`! ${f.code}`)}`);
    }
    from = to;
  }
  const last = from;
  const verdict = `${result.verdict}: ${result.reason}`;
  if (last) body.push(`  Note over ${last.id}: ${escapeMermaid(verdict)}`);

  const head = ["sequenceDiagram", `  %% netmap trace ${packetLabel(result.packet)}`];
  for (const p of participants.values()) head.push(`  participant ${p.id} as ${escapeMermaid(p.label)}`);
  return `${[...head, ...body].join("\n")}\n`;
}

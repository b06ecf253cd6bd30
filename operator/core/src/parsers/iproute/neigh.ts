/** `ip -j neigh show` and the text form `ip neigh [show dev X]` → Neighbour[]. */
import { sourceCommand, textSourceCommand } from "../../capture/sources.js";
import type { Neighbour, NeighState } from "../../model/neigh.js";
import { ParseError } from "../errors.js";
import { Fields, parseJsonArray } from "./json.js";
import { isIp, Tokens, textLines, tokens } from "./text.js";

const NEIGH_STATES: readonly NeighState[] = [
  "PERMANENT",
  "NOARP",
  "REACHABLE",
  "STALE",
  "DELAY",
  "PROBE",
  "FAILED",
  "INCOMPLETE",
  "NONE",
];

function isNeighState(s: string): s is NeighState {
  return (NEIGH_STATES as readonly string[]).includes(s);
}

/** Parse `ip -j neigh show`. `router`/`proxy` are flags (printed as null when set). */
export function parseIpNeighJson(text: string): Neighbour[] {
  const source = sourceCommand("ip-neigh");
  return parseJsonArray(text, source).map((el) => {
    const f: Fields = new Fields(el, source);
    const state = f.strings("state");
    for (const s of state) if (!isNeighState(s)) f.fail(`unknown neighbour state "${s}"`);
    const n: Neighbour = { dst: f.reqStr("dst"), dev: f.reqStr("dev"), state: state.filter(isNeighState) };
    const lladdr = f.str("lladdr");
    if (lladdr !== undefined) n.lladdr = lladdr;
    if (f.has("router")) n.router = true;
    if (f.has("proxy")) n.proxy = true;
    return n;
  });
}

/**
 * Parse the text form of `ip neigh` (`10.244.2.0 dev flannel.1 lladdr 86:22:… PERMANENT`,
 * `10.5.0.8 dev v0 FAILED`, `… router REACHABLE`). `ip neigh show dev X` omits the `dev` token: pass
 * `dev` for that form. Throws ParseError on a line without a valid address, device or state.
 * `source` names what was parsed in errors (the command or file; default the text command).
 */
export function parseIpNeighText(
  text: string,
  dev?: string,
  source = textSourceCommand("ip-neigh"),
): Neighbour[] {
  return textLines(text).map((line) => {
    const t: Tokens = new Tokens(tokens(line.text), source, line);
    const dst = t.next() ?? "";
    if (!isIp(dst)) t.fail(`not a neighbour address "${dst}"`);
    const n: Neighbour = { dst, dev: dev ?? "", state: [] };
    while (!t.done) {
      const k = t.next() ?? "";
      if (k === "dev") n.dev = t.value(k);
      else if (k === "lladdr") n.lladdr = t.value(k);
      else if (k === "router") n.router = true;
      else if (k === "proxy") n.proxy = true;
      else if (isNeighState(k)) n.state.push(k);
      else if (/^[A-Z_]+$/.test(k)) t.fail(`unknown neighbour state "${k}"`);
      else if (k === "nud" || k === "vlan" || k === "protocol") t.value(k);
    }
    if (n.dev === "") {
      throw new ParseError(source, line.no, "entry without `dev` and no device given", line.text);
    }
    if (n.state.length === 0) t.fail("entry without a state (truncated line?)");
    return n;
  });
}

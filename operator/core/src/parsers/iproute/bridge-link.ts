/** `bridge -j link show` and the text form `bridge [-d] link show` → BridgePortLink[]. */
import { sourceCommand, textSourceCommand } from "../../capture/sources.js";
import type { BridgePortLink } from "../../model/fdb.js";
import { ParseError } from "../errors.js";
import { Fields, parseJsonArray } from "./json.js";
import { splitLinkBlocks } from "./link-text.js";
import { Tokens, tokens } from "./text.js";

/**
 * Parse `bridge -j link show`. `state` is the bridge port state (forwarding, …); hairpin/learning/flood
 * appear only with `-d`. The JSON "link" field (a peer name resolved in the wrong netns) is ignored.
 */
export function parseBridgeLinkJson(text: string): BridgePortLink[] {
  const source = sourceCommand("bridge-link");
  return parseJsonArray(text, source).map((el) => {
    const f: Fields = new Fields(el, source);
    const p: BridgePortLink = {
      ifindex: f.reqNum("ifindex"),
      ifname: f.reqStr("ifname"),
      master: f.reqStr("master"),
      state: f.reqStr("state"),
      flags: f.strings("flags"),
    };
    const mtu = f.num("mtu");
    if (mtu !== undefined) p.mtu = mtu;
    const operstate = f.str("operstate");
    if (operstate !== undefined) p.operstate = operstate;
    for (const k of ["priority", "cost"] as const) {
      const v = f.num(k);
      if (v !== undefined) p[k] = v;
    }
    for (const k of ["hairpin", "learning", "flood"] as const) {
      const v = f.bool(k);
      if (v !== undefined) p[k] = v;
    }
    return p;
  });
}

/**
 * Parse the text form of `bridge [-d] link show`
 * (`4: veth482f2c81@flannel.1: <BROADCAST,…> mtu 1450 master cni0 state forwarding priority 32 cost 2`;
 * with -d, indented `hairpin on guard off … learning on flood on …` lines). The `@…` suffix is dropped.
 * `source` names what was parsed in errors (the command or file; default the text command).
 */
export function parseBridgeLinkText(
  text: string,
  source = textSourceCommand("bridge-link"),
): BridgePortLink[] {
  return splitLinkBlocks(text, source).map((b) => {
    const t: Tokens = new Tokens(b.rest, source, b.header);
    const p: Partial<BridgePortLink> & { flags: string[] } = {
      ifindex: b.ifindex,
      ifname: b.name,
      flags: b.flags,
    };
    const read = (tk: Tokens) => {
      while (!tk.done) {
        const k = tk.next() ?? "";
        if (k === "mtu") p.mtu = tk.int(k);
        else if (k === "master") p.master = tk.value(k);
        else if (k === "state") p.state = tk.value(k);
        else if (k === "priority") p.priority = tk.int(k);
        else if (k === "cost") p.cost = tk.int(k);
        else if (k === "hairpin" || k === "learning" || k === "flood") {
          const v = tk.value(k);
          if (v !== "on" && v !== "off") tk.fail(`"${k}" expects on/off, got "${v}"`);
          p[k] = v === "on";
        }
      }
    };
    read(t);
    for (const line of b.body) read(new Tokens(tokens(line.text), source, line));
    const { master, state } = p;
    if (master === undefined || state === undefined) {
      throw new ParseError(
        source,
        b.header.no,
        "port line without master or state (truncated?)",
        b.header.text,
      );
    }
    return { ...p, ifindex: b.ifindex, ifname: b.name, master, state };
  });
}

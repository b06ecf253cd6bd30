/** `bridge -j fdb show` and the text form `bridge fdb show [dev X]` → FdbEntry[]. */
import { sourceCommand, textSourceCommand } from "../../capture/sources.js";
import type { FdbEntry } from "../../model/fdb.js";
import { ParseError } from "../errors.js";
import { Fields, parseJsonArray } from "./json.js";
import { isMac, Tokens, textLines, tokens } from "./text.js";

/** NTF_* flags bridge prints as bare words. */
const FDB_FLAGS = new Set(["self", "router", "extern_learn", "offload", "master", "sticky"]);

/** "permanent" / "static" / "noarp" are kept; "" (learned) and "stale" are dynamic: undefined. */
function fdbState(s: string | undefined): FdbEntry["state"] {
  return s === "permanent" || s === "static" || s === "noarp" ? s : undefined;
}

/** Parse `bridge -j fdb show` (mac, ifname → dev, master, vlan, dst, vni, port, state, flags). */
export function parseBridgeFdbJson(text: string): FdbEntry[] {
  const source = sourceCommand("bridge-fdb");
  return parseJsonArray(text, source).map((el) => {
    const f: Fields = new Fields(el, source);
    const e: FdbEntry = { mac: f.reqStr("mac"), dev: f.reqStr("ifname"), flags: f.strings("flags") };
    const master = f.str("master");
    if (master !== undefined) e.master = master;
    const vlan = f.num("vlan");
    if (vlan !== undefined) e.vlan = vlan;
    const dst = f.str("dst");
    if (dst !== undefined) e.dst = dst;
    const vni = f.num("vni");
    if (vni !== undefined) e.vni = vni;
    const port = f.num("port");
    if (port !== undefined) e.port = port;
    const state = fdbState(f.str("state"));
    if (state !== undefined) e.state = state;
    return e;
  });
}

/**
 * Parse the text form of `bridge fdb show` (`ca:59:… dev flannel.1 dst 192.168.2.202 self permanent`,
 * `02:42:… dev docker0 vlan 1 master docker0 permanent`). `bridge fdb show dev X` omits the `dev`
 * token: pass `dev` for that form. Throws ParseError on a line without a MAC or a device.
 * `source` names what was parsed in errors (the command or file; default the text command).
 */
export function parseBridgeFdbText(
  text: string,
  dev?: string,
  source = textSourceCommand("bridge-fdb"),
): FdbEntry[] {
  return textLines(text).map((line) => {
    const t: Tokens = new Tokens(tokens(line.text), source, line);
    const mac = t.next() ?? "";
    if (!isMac(mac)) t.fail(`not a MAC address "${mac}"`);
    const e: FdbEntry = { mac, dev: dev ?? "", flags: [] };
    while (!t.done) {
      const k = t.next() ?? "";
      if (k === "dev") e.dev = t.value(k);
      else if (k === "master") e.master = t.value(k);
      else if (k === "vlan") e.vlan = t.int(k);
      else if (k === "dst") e.dst = t.value(k);
      else if (k === "vni") e.vni = t.int(k);
      else if (k === "port") e.port = t.int(k);
      else if (k === "permanent" || k === "static" || k === "noarp") e.state = k;
      else if (FDB_FLAGS.has(k)) e.flags.push(k);
      else if (k === "src_vni" || k === "via" || k === "nhid" || k === "link-netnsid" || k === "used") {
        t.value(k);
      }
    }
    if (e.dev === "")
      throw new ParseError(source, line.no, "entry without `dev` and no device given", line.text);
    return e;
  });
}

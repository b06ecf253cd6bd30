/** `ip -j addr show` and the text form `ip [-d] addr show` → Address[]. */
import { sourceCommand, textSourceCommand } from "../../capture/sources.js";
import type { Address } from "../../model/addr.js";
import { Fields, isObject, parseJsonArray } from "./json.js";
import { splitLinkBlocks } from "./link-text.js";
import { isIp, Tokens, tokens } from "./text.js";

/** IFA_F_* flags as iproute2 names them (JSON booleans, text words). */
const ADDR_FLAGS = [
  "secondary",
  "temporary",
  "nodad",
  "optimistic",
  "dadfailed",
  "home",
  "deprecated",
  "tentative",
  "permanent",
  "mngtmpaddr",
  "noprefixroute",
  "autojoin",
  "stable-privacy",
  "dynamic",
] as const;

const FAMILIES: Record<string, 4 | 6> = { inet: 4, inet6: 6 };

/**
 * Parse `ip -j addr show`: one Address per addr_info entry. Entries of other families
 * (e.g. "link" in some setups) are skipped. Throws ParseError on invalid JSON or a missing field.
 */
export function parseIpAddrJson(text: string): Address[] {
  const source = sourceCommand("ip-addr");
  const out: Address[] = [];
  for (const el of parseJsonArray(text, source)) {
    const f: Fields = new Fields(el, source);
    const ifindex = f.reqNum("ifindex");
    const ifname = f.reqStr("ifname");
    for (const ai of f.arr("addr_info") ?? []) {
      if (!isObject(ai)) f.fail(`addr_info entries must be objects`);
      const family = FAMILIES[f.reqStr("family", ai)];
      if (family === undefined) continue;
      const local = f.reqStr("local", ai);
      const a: Address = {
        ifindex,
        ifname,
        family,
        local,
        prefixlen: f.reqNum("prefixlen", ai),
        scope: f.str("scope", ai) ?? "global",
        flags: ADDR_FLAGS.filter((k) => f.bool(k, ai) === true),
      };
      const brd = f.str("broadcast", ai);
      if (brd !== undefined) a.broadcast = brd;
      const peer = f.str("address", ai);
      if (peer !== undefined && peer !== local) a.peer = peer;
      const label = f.str("label", ai);
      if (label !== undefined) a.label = label;
      out.push(a);
    }
  }
  return out;
}

/**
 * Parse the text form of `ip [-d] addr show` (`    inet 10.244.0.1/24 brd 10.244.0.255 scope global cni0`,
 * `    inet 10.6.0.1 peer 10.6.0.2/32 …`, `    inet6 fe80::…/64 scope link proto kernel_ll`).
 * Link lines are validated too; throws ParseError with the line of anything malformed or cut short.
 * `source` names what was parsed in errors (the command or file; default the text command).
 */
export function parseIpAddrText(text: string, source = textSourceCommand("ip-addr")): Address[] {
  const out: Address[] = [];
  for (const block of splitLinkBlocks(text, source)) {
    for (const line of block.body) {
      const t: Tokens = new Tokens(tokens(line.text), source, line);
      const fam = FAMILIES[t.peek() ?? ""];
      if (fam === undefined) continue;
      t.next();
      const addr = t.value(fam === 6 ? "inet6" : "inet");
      const [local = "", len] = addr.split("/");
      if (!isIp(local)) t.fail(`invalid address "${addr}"`);
      const a: Address = {
        ifindex: block.ifindex,
        ifname: block.name,
        family: fam,
        local,
        prefixlen: fam === 6 ? 128 : 32,
        scope: "global",
        flags: [],
      };
      if (len !== undefined) a.prefixlen = lengthOf(t, len);
      let sawScope = false;
      while (!t.done) {
        const k = t.next() ?? "";
        if (k === "peer") {
          const [peer = "", plen] = t.value(k).split("/");
          if (!isIp(peer)) t.fail(`invalid peer "${peer}"`);
          a.peer = peer;
          if (plen !== undefined) a.prefixlen = lengthOf(t, plen);
        } else if (k === "brd") a.broadcast = t.value(k);
        else if (k === "scope") {
          a.scope = t.value(k);
          sawScope = true;
        } else if (k === "proto" || k === "metric") t.value(k);
        else if ((ADDR_FLAGS as readonly string[]).includes(k)) a.flags.push(k);
        else if (fam === 4 && sawScope && t.done) a.label = k;
      }
      if (!sawScope) t.fail("address line without scope (truncated line?)");
      out.push(a);
    }
  }
  return out;
}

function lengthOf(t: Tokens, len: string): number {
  if (!/^\d{1,3}$/.test(len)) t.fail(`invalid prefix length "${len}"`);
  return Number.parseInt(len, 10);
}

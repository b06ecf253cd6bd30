/**
 * The text form of `ip [-d] link show` / `ip [-d] addr show`: a header line per link
 * (`4: veth2c65dd67@if3: <BROADCAST,…> mtu 1450 qdisc noqueue master cni0 state UP …`), then indented
 * lines: `link/ether … link-netnsid 2`, with -d the kind line (`vxlan id 1 …`, `bridge …`, `veth`) and
 * the slave line (`bridge_slave state forwarding …`), `altname`, and for `ip addr` the inet lines.
 */
import { textSourceCommand } from "../../capture/sources.js";
import type { BridgePort, Link, TunnelInfo, VxlanLink } from "../../model/link.js";
import { ParseError } from "../errors.js";
import {
  buildLink,
  emptyTunnel,
  isBridgePortState,
  isOperState,
  type KindDetails,
  type LinkCommon,
  resolveNames,
} from "./link-build.js";
import { parseIntStrict, type TextLine, Tokens, textLines, tokens } from "./text.js";

/** One link's header and the indented lines under it. */
export interface LinkBlock {
  header: TextLine;
  ifindex: number;
  /** Name without the `@…` suffix. */
  name: string;
  /** What followed `@`: "if3" (peer in another netns), "eth0" (lower device here), "NONE". */
  at?: string;
  flags: string[];
  /** Header tokens after the flags (`mtu 1450 qdisc noqueue master cni0 state UP …`). */
  rest: string[];
  body: TextLine[];
}

const HEADER = /^(\d+):\s+([^\s:]+):\s+<([^>]*)>(.*)$/;

/** Split `ip link` / `ip addr` text into link blocks; any other unindented line is an error. */
export function splitLinkBlocks(text: string, source: string): LinkBlock[] {
  const blocks: LinkBlock[] = [];
  for (const line of textLines(text)) {
    if (/^\s/.test(line.text)) {
      const cur = blocks[blocks.length - 1];
      if (!cur) throw new ParseError(source, line.no, "indented line before any link header", line.text);
      cur.body.push(line);
      continue;
    }
    const m = HEADER.exec(line.text);
    if (!m) throw new ParseError(source, line.no, "not a link header (truncated line?)", line.text);
    const [, idx = "", full = "", flags = "", rest = ""] = m;
    const at = full.lastIndexOf("@");
    const block: LinkBlock = {
      header: line,
      ifindex: Number.parseInt(idx, 10),
      name: at > 0 ? full.slice(0, at) : full,
      flags: flags === "" ? [] : flags.split(","),
      rest: tokens(rest),
      body: [],
    };
    if (at > 0) block.at = full.slice(at + 1);
    blocks.push(block);
  }
  return blocks;
}

/** Lines that are never a kind line under a link header. */
const NOT_KIND = new Set([
  "altname",
  "alias",
  "inet",
  "inet6",
  "valid_lft",
  "vf",
  "RX:",
  "TX:",
  "prop",
  "addrgenmode",
  "numtxqueues",
  "promiscuity",
]);

/**
 * Parse the text form of `ip [-d] link show` (also the link part of `ip [-d] addr show`).
 * `veth1@if3` → name "veth1", linkIfindex 3; `name@eth0` → linkIfindex of eth0 when present;
 * `tunl0@NONE` → no lower link. `link-netnsid N` and `link-netns NAME` are both kept.
 * Without -d there is no kind line, so every link but lo is a "device".
 * Throws ParseError (with the line) on a malformed or truncated line.
 * `source` names what was parsed in errors (the command or file; default the text command).
 */
export function parseIpLinkText(text: string, source: string = textSourceCommand("ip-link")): Link[] {
  const lowerNames = new Map<Link, string>();
  const links = splitLinkBlocks(text, source).map((b) => {
    const { link, lower } = linkFromBlock(b, source);
    if (lower !== undefined) lowerNames.set(link, lower);
    return link;
  });
  resolveNames(links, lowerNames);
  return links;
}

function linkFromBlock(b: LinkBlock, source: string): { link: Link; lower?: string } {
  const t: Tokens = new Tokens(b.rest, source, b.header);
  let mtu: number | undefined;
  let operstate = "UNKNOWN";
  let master: string | undefined;
  while (!t.done) {
    const k = t.next();
    if (k === "mtu") mtu = t.int(k);
    else if (k === "state") operstate = t.value(k);
    else if (k === "master") master = t.value(k);
    else if (k === "qdisc" || k === "mode" || k === "group" || k === "qlen") t.value(k);
  }
  if (mtu === undefined) t.fail("link header without mtu (truncated line?)");
  if (!isOperState(operstate)) t.fail(`unknown state "${operstate}"`);
  const common: LinkCommon = { ifindex: b.ifindex, name: b.name, mtu, operstate, flags: b.flags };
  if (master !== undefined) common.master = master;
  let lower: string | undefined;
  if (b.at !== undefined && b.at !== "NONE") {
    const peer = /^if(\d+)$/.exec(b.at);
    if (peer?.[1] !== undefined) common.linkIfindex = Number.parseInt(peer[1], 10);
    else lower = b.at;
  }

  let linkType: string | undefined;
  const details: KindDetails = {};
  let afterLinkLine = false;
  for (const line of b.body) {
    const toks = tokens(line.text);
    const first = toks[0] ?? "";
    const lt: Tokens = new Tokens(toks, source, line);
    if (first.startsWith("link/")) {
      linkType = first.slice(5);
      lt.next();
      linkLine(lt, linkType, common);
      afterLinkLine = true;
      continue;
    }
    if (!afterLinkLine || NOT_KIND.has(first) || /^\d/.test(first)) continue;
    lt.next();
    if (first.endsWith("_slave")) {
      if (first === "bridge_slave") common.bridgePort = bridgeSlave(lt);
      continue;
    }
    if (common.infoKind !== undefined) continue;
    common.infoKind = first;
    if (first === "vxlan") details.vxlan = vxlanText(lt);
    else if (first === "geneve") details.geneve = tunnelText(lt, emptyTunnel());
    else if (first === "bridge") details.bridge = bridgeText(lt);
    else if (first === "ipip") details.ipip = ipipText(lt);
  }
  const link = buildLink(common, details, linkType);
  return lower === undefined ? { link } : { link, lower };
}

/** `link/ether 9a:13:… brd ff:… link-netnsid 2 promiscuity 1 …` */
function linkLine(t: Tokens, linkType: string, common: LinkCommon): void {
  const addr = t.peek();
  if (addr !== undefined && linkType === "ether" && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(addr)) {
    common.mac = addr;
  }
  while (!t.done) {
    const k = t.next();
    if (k === "link-netnsid") common.linkNetnsid = t.int(k);
    else if (k === "link-netns") common.linkNetns = t.value(k);
  }
}

function onOff(t: Tokens, k: string): boolean {
  const v = t.value(k);
  if (v !== "on" && v !== "off") t.fail(`"${k}" expects on/off, got "${v}"`);
  return v === "on";
}

function bridgeSlave(t: Tokens): BridgePort {
  let state: string | undefined;
  const port: Omit<BridgePort, "state"> = {};
  while (!t.done) {
    const k = t.next();
    if (k === "state") state = t.value(k);
    else if (k === "hairpin") port.hairpin = onOff(t, k);
    else if (k === "learning") port.learning = onOff(t, k);
    else if (k === "flood") port.flood = onOff(t, k);
    else if (k === "neigh_suppress") port.neighSuppress = onOff(t, k);
  }
  if (state === undefined) t.fail("bridge_slave without state (truncated line?)");
  if (!isBridgePortState(state)) t.fail(`unknown bridge port state "${state}"`);
  return { state, ...port };
}

function bridgeText(t: Tokens): NonNullable<KindDetails["bridge"]> {
  const out: NonNullable<KindDetails["bridge"]> = {};
  while (!t.done) {
    const k = t.next();
    if (k === "stp_state") out.stpState = t.int(k);
    else if (k === "vlan_filtering") out.vlanFiltering = t.int(k) !== 0;
    else if (k === "nf_call_iptables") out.nfCallIptables = t.int(k) !== 0;
  }
  return out;
}

/** Shared VXLAN/Geneve keywords; vxlan-only flags are handled by the caller through `extra`. */
function tunnelText(t: Tokens, tun: TunnelInfo, extra?: (k: string) => boolean): TunnelInfo {
  while (!t.done) {
    const k = t.next() ?? "";
    if (extra?.(k)) continue;
    if (k === "external") tun.external = true;
    else if (k === "id") tun.vni = t.int(k);
    else if (k === "local") tun.local = t.value(k);
    else if (k === "remote") tun.remote = t.value(k);
    else if (k === "group") tun.group = t.value(k);
    else if (k === "dev") tun.underlayDev = t.value(k);
    else if (k === "dstport") tun.dstport = t.int(k);
    else if (k === "srcport") {
      t.value(k);
      t.value(k);
    } else if (k === "ttl") {
      const v = t.value(k);
      const n = parseIntStrict(v);
      if (v === "inherit" || v === "auto") tun.ttl = v;
      else if (n !== undefined) tun.ttl = n;
      else t.fail(`"ttl" expects a number, inherit or auto, got "${v}"`);
    }
  }
  if (tun.external && tun.vni === 0) delete tun.vni;
  return tun;
}

function vxlanText(t: Tokens): VxlanLink["vxlan"] {
  const v: VxlanLink["vxlan"] = { ...emptyTunnel(), learning: true };
  tunnelText(t, v, (k) => {
    if (k === "nolearning") v.learning = false;
    else if (k === "learning") v.learning = true;
    else if (k === "proxy" || k === "l2miss" || k === "l3miss") v[k] = true;
    else return false;
    return true;
  });
  return v;
}

/** `ipip any remote 10.0.0.2 local 10.0.0.1 dev eth0 ttl inherit …` ("any" means unset). */
function ipipText(t: Tokens): NonNullable<KindDetails["ipip"]> {
  const out: NonNullable<KindDetails["ipip"]> = {};
  while (!t.done) {
    const k = t.next();
    if (k === "remote" || k === "local") {
      const v = t.value(k);
      if (v !== "any") out[k] = v;
    } else if (k === "dev") out.underlayDev = t.value(k);
  }
  return out;
}

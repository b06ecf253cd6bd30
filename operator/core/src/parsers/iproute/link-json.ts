/** `ip -j -d link show` (also `ip -j link` without -d, and pretty `-p` JSON) → Link[]. */
import { sourceCommand } from "../../capture/sources.js";
import type { JsonObject } from "../../model/json.js";
import type { BridgePort, Link, TunnelInfo, VxlanLink } from "../../model/link.js";
import { Fields, parseJsonArray } from "./json.js";
import {
  buildLink,
  emptyTunnel,
  isBridgePortState,
  isOperState,
  type KindDetails,
  type LinkCommon,
  resolveNames,
} from "./link-build.js";

/**
 * Parse `ip -j -d link show`. Kinds come from linkinfo.info_kind (veth, bridge, vxlan, geneve, ipip,
 * dummy; "loopback" for link_type loopback; "device" without info_kind — which is also what every
 * link gets when `-d` was not given; "other" for the rest, raw kind kept in `infoKind`).
 * Throws ParseError on invalid/truncated JSON or an element without ifindex/ifname/mtu.
 */
export function parseIpLinkJson(text: string): Link[] {
  const source = sourceCommand("ip-link");
  const lowerNames = new Map<Link, string>();
  const links = parseJsonArray(text, source).map((el) => {
    const f: Fields = new Fields(el, source);
    const link = linkFromJson(f);
    const lower = f.str("link");
    if (lower !== undefined) lowerNames.set(link, lower);
    return link;
  });
  resolveNames(links, lowerNames);
  return links;
}

function linkFromJson(f: Fields): Link {
  const operstate = f.str("operstate") ?? "UNKNOWN";
  if (!isOperState(operstate)) f.fail(`unknown operstate "${operstate}"`);
  const linkType = f.str("link_type");
  const common: LinkCommon = {
    ifindex: f.reqNum("ifindex"),
    name: f.reqStr("ifname"),
    mtu: f.reqNum("mtu"),
    operstate,
    flags: f.strings("flags"),
  };
  const mac = f.str("address");
  if (mac !== undefined && linkType === "ether") common.mac = mac;
  const master = f.str("master");
  if (master !== undefined) common.master = master;
  const linkIndex = f.num("link_index");
  if (linkIndex !== undefined) common.linkIfindex = linkIndex;
  const netnsid = f.num("link_netnsid");
  if (netnsid !== undefined) common.linkNetnsid = netnsid;

  const details: KindDetails = {};
  const info = f.obj("linkinfo");
  if (info) {
    const kind = f.str("info_kind", info);
    if (kind !== undefined) common.infoKind = kind;
    const data = f.obj("info_data", info) ?? {};
    if (kind === "bridge") details.bridge = bridgeFromJson(f, data);
    if (kind === "vxlan") details.vxlan = vxlanFromJson(f, data);
    if (kind === "geneve") details.geneve = tunnelFromJson(f, data);
    if (kind === "ipip") details.ipip = ipipFromJson(f, data);
    if (f.str("info_slave_kind", info) === "bridge") {
      common.bridgePort = bridgePortFromJson(f, f.obj("info_slave_data", info) ?? {});
    }
  }
  return buildLink(common, details, linkType);
}

function bridgeFromJson(f: Fields, d: JsonObject): NonNullable<KindDetails["bridge"]> {
  const out: NonNullable<KindDetails["bridge"]> = {};
  const stp = f.num("stp_state", d);
  if (stp !== undefined) out.stpState = stp;
  const vf = f.bool("vlan_filtering", d);
  if (vf !== undefined) out.vlanFiltering = vf;
  const nf = f.bool("nf_call_iptables", d);
  if (nf !== undefined) out.nfCallIptables = nf;
  return out;
}

function bridgePortFromJson(f: Fields, d: JsonObject): BridgePort {
  const state = f.str("state", d);
  if (state === undefined) f.fail(`bridge port without "state"`);
  if (!isBridgePortState(state)) f.fail(`unknown bridge port state "${state}"`);
  const port: BridgePort = { state };
  const learning = f.bool("learning", d);
  if (learning !== undefined) port.learning = learning;
  const flood = f.bool("flood", d);
  if (flood !== undefined) port.flood = flood;
  const hairpin = f.bool("hairpin", d);
  if (hairpin !== undefined) port.hairpin = hairpin;
  const ns = f.bool("neigh_suppress", d);
  if (ns !== undefined) port.neighSuppress = ns;
  return port;
}

function tunnelFromJson(f: Fields, d: JsonObject): TunnelInfo {
  const t = emptyTunnel();
  t.external = f.bool("external", d) ?? false;
  const id = f.num("id", d);
  if (id !== undefined && !(t.external && id === 0)) t.vni = id;
  const local = f.str("local", d) ?? f.str("local6", d);
  if (local !== undefined) t.local = local;
  const remote = f.str("remote", d) ?? f.str("remote6", d);
  if (remote !== undefined) t.remote = remote;
  const group = f.str("group", d) ?? f.str("group6", d);
  if (group !== undefined) t.group = group;
  t.dstport = f.num("port", d) ?? 0;
  const dev = f.str("link", d);
  if (dev !== undefined) t.underlayDev = dev;
  const ttl = f.num("ttl", d);
  // iproute2 prints ttl 0 as "ttl auto" in text; "ttl inherit" has no JSON field at all.
  if (ttl !== undefined) t.ttl = ttl === 0 ? "auto" : ttl;
  return t;
}

function vxlanFromJson(f: Fields, d: JsonObject): VxlanLink["vxlan"] {
  const v: VxlanLink["vxlan"] = { ...tunnelFromJson(f, d), learning: f.bool("learning", d) ?? true };
  for (const k of ["proxy", "l2miss", "l3miss"] as const) {
    const b = f.bool(k, d);
    if (b !== undefined) v[k] = b;
  }
  return v;
}

function ipipFromJson(f: Fields, d: JsonObject): NonNullable<KindDetails["ipip"]> {
  const out: NonNullable<KindDetails["ipip"]> = {};
  const local = f.str("local", d);
  if (local !== undefined && local !== "any") out.local = local;
  const remote = f.str("remote", d);
  if (remote !== undefined && remote !== "any") out.remote = remote;
  const dev = f.str("link", d);
  if (dev !== undefined) out.underlayDev = dev;
  return out;
}

/**
 * Evidence lines in iproute2's own text style, from the model. formatRoute, formatPolicyRule,
 * formatNeighbour and formatFdb print exactly what `ip route show table all`, `ip rule`, `ip neigh`
 * and `bridge fdb show` print for the same object (without iproute2's trailing blanks); formatLink,
 * formatAddress and formatBridgePort are one-line summaries in the same vocabulary.
 */
import type { Address } from "../../model/addr.js";
import type { BridgePortLink, FdbEntry } from "../../model/fdb.js";
import type { Link, TunnelInfo, VxlanLink } from "../../model/link.js";
import type { Neighbour } from "../../model/neigh.js";
import type { Nexthop, PolicyRule, Route } from "../../model/route.js";
import { displayPrefix } from "./text.js";

const join = (parts: (string | false | undefined)[]): string =>
  parts.filter((p): p is string => typeof p === "string" && p !== "").join(" ");

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * One line per link, `ip -d link` words: `5: veth1234@if2: <BROADCAST,…> mtu 1450 master cni0 state UP
 * link/ether 16:5d:… link-netnsid 1 veth bridge_slave state forwarding hairpin on`,
 * `6: flannel.1: <…> mtu 1450 state UNKNOWN link/ether … vxlan id 1 local 10.0.0.11 dev eth0 dstport 8472 nolearning`.
 */
export function formatLink(l: Link): string {
  const at = l.linkIfindex !== undefined ? `@if${l.linkIfindex}` : "";
  const parts = [
    `${l.ifindex}: ${l.name}${at}: <${l.flags.join(",")}>`,
    `mtu ${l.mtu}`,
    l.master !== undefined && `master ${l.master}`,
    `state ${l.operstate}`,
    l.mac !== undefined && `link/ether ${l.mac}`,
    l.linkNetnsid !== undefined && `link-netnsid ${l.linkNetnsid}`,
    l.linkNetns !== undefined && `link-netns ${l.linkNetns}`,
    kindDetails(l),
  ];
  if (l.bridgePort) {
    const p = l.bridgePort;
    parts.push(
      `bridge_slave state ${p.state}`,
      p.hairpin !== undefined && `hairpin ${p.hairpin ? "on" : "off"}`,
      p.learning !== undefined && `learning ${p.learning ? "on" : "off"}`,
      p.flood !== undefined && `flood ${p.flood ? "on" : "off"}`,
      p.neighSuppress === true && "neigh_suppress on",
    );
  }
  return join(parts);
}

function kindDetails(l: Link): string | undefined {
  switch (l.kind) {
    case "vxlan":
      return vxlanDetails(l.vxlan);
    case "geneve":
      return join(["geneve", ...tunnelWords(l.geneve)]);
    case "bridge":
      return join([
        "bridge",
        l.bridge.stpState !== undefined && `stp_state ${l.bridge.stpState}`,
        l.bridge.vlanFiltering !== undefined && `vlan_filtering ${l.bridge.vlanFiltering ? 1 : 0}`,
        l.bridge.nfCallIptables !== undefined && `nf_call_iptables ${l.bridge.nfCallIptables ? 1 : 0}`,
      ]);
    case "ipip":
      return join([
        "ipip",
        `remote ${l.ipip.remote ?? "any"}`,
        `local ${l.ipip.local ?? "any"}`,
        l.ipip.underlayDev !== undefined && `dev ${l.ipip.underlayDev}`,
      ]);
    case "loopback":
    case "device":
      return undefined;
    default:
      return l.infoKind;
  }
}

function tunnelWords(t: TunnelInfo): string[] {
  return [
    t.external ? "external" : "",
    t.vni !== undefined ? `id ${t.vni}` : "",
    t.remote !== undefined ? `remote ${t.remote}` : "",
    t.group !== undefined ? `group ${t.group}` : "",
    t.local !== undefined ? `local ${t.local}` : "",
    t.underlayDev !== undefined ? `dev ${t.underlayDev}` : "",
    t.dstport !== 0 ? `dstport ${t.dstport}` : "",
    t.ttl !== undefined ? `ttl ${t.ttl}` : "",
  ];
}

function vxlanDetails(v: VxlanLink["vxlan"]): string {
  const words = tunnelWords(v);
  // iproute2 prints the flags between dstport and ttl.
  const ttl = words.pop() ?? "";
  return join([
    "vxlan",
    ...words,
    v.learning ? "" : "nolearning",
    v.proxy ? "proxy" : "",
    v.l2miss ? "l2miss" : "",
    v.l3miss ? "l3miss" : "",
    ttl,
  ]);
}

/**
 * `ip -o addr` style: `3: cni0 inet 10.244.0.1/24 brd 10.244.0.255 scope global cni0`,
 * `2: v0 inet 10.6.0.1 peer 10.6.0.2/32 scope global v0`.
 */
export function formatAddress(a: Address): string {
  const addr =
    a.peer !== undefined ? `${a.local} peer ${a.peer}/${a.prefixlen}` : `${a.local}/${a.prefixlen}`;
  return join([
    `${a.ifindex}: ${a.ifname}`,
    a.family === 6 ? "inet6" : "inet",
    addr,
    a.broadcast !== undefined && `brd ${a.broadcast}`,
    `scope ${a.scope}`,
    ...a.flags,
    a.family === 4 ? (a.label ?? a.ifname) : undefined,
  ]);
}

function nexthopLine(h: Nexthop): string {
  return join([
    "\tnexthop",
    h.gateway !== undefined && `via ${h.gateway}`,
    h.dev !== undefined && `dev ${h.dev}`,
    h.weight !== undefined && `weight ${h.weight}`,
    ...h.flags,
  ]);
}

/**
 * Exactly as `ip route show table all` prints the route: `10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`,
 * `local 10.244.0.1 dev cni0 table local proto kernel scope host src 10.244.0.1`, `default via …`;
 * host routes without their /32 (/128), `table` only when not main, multipath on `\tnexthop` lines.
 */
export function formatRoute(r: Route): string {
  const head = join([
    r.type !== "unicast" && r.type,
    displayPrefix(r.dst),
    r.tos !== undefined && `tos ${r.tos}`,
    r.gateway !== undefined && `via ${r.gateway}`,
    r.dev !== undefined && `dev ${r.dev}`,
    r.table !== "main" && `table ${r.table}`,
    r.protocol !== undefined && r.protocol !== "boot" && `proto ${r.protocol}`,
    r.scope !== undefined && r.scope !== "global" && r.scope !== "universe" && `scope ${r.scope}`,
    r.prefsrc !== undefined && `src ${r.prefsrc}`,
    r.metric !== undefined && `metric ${r.metric}`,
    ...r.flags,
    r.mtu !== undefined && `mtu ${r.mtu}`,
    r.pref !== undefined && `pref ${r.pref}`,
  ]);
  return [head, ...(r.nexthops ?? []).map(nexthopLine)].join("\n");
}

function ports(name: string, start: number | undefined, end: number | undefined): string | undefined {
  if (start === undefined) return undefined;
  return end !== undefined && end !== start ? `${name} ${start}-${end}` : `${name} ${start}`;
}

/** As `ip rule` prints it: `32766:\tfrom all lookup main`, `100:\tfrom 10.244.0.0/24 fwmark 0x10/0xff lookup 100`. */
export function formatPolicyRule(r: PolicyRule): string {
  const fw = r.fwmark;
  const action =
    r.action === "lookup"
      ? `lookup ${r.table ?? "main"}`
      : r.action === "goto"
        ? `goto ${r.gotoPriority ?? ""}`
        : r.action;
  const body = join([
    r.not && "not",
    `from ${r.src !== undefined ? displayRulePrefix(r.src) : "all"}`,
    r.dst !== undefined && `to ${displayRulePrefix(r.dst)}`,
    fw !== undefined &&
      `fwmark ${hex(fw.value)}${fw.mask !== undefined && fw.mask !== 0xffffffff ? `/${hex(fw.mask)}` : ""}`,
    r.iif !== undefined && `iif ${r.iif}`,
    r.oif !== undefined && `oif ${r.oif}`,
    r.ipproto !== undefined && `ipproto ${r.ipproto}`,
    ports("sport", r.sport, r.sportEnd),
    ports("dport", r.dport, r.dportEnd),
    action,
    r.suppressPrefixlen !== undefined && `suppress_prefixlength ${r.suppressPrefixlen}`,
  ]);
  return `${r.priority}:\t${body}`;
}

/** `ip rule` prints host selectors without their length, and /0 as "all". */
function displayRulePrefix(p: string): string {
  const d = displayPrefix(p);
  return d === "default" ? "all" : d;
}

/** As `ip neigh` prints it: `10.244.1.0 dev flannel.1 lladdr 0a:aa:bb:cc:dd:01 PERMANENT`. */
export function formatNeighbour(n: Neighbour): string {
  return join([
    n.dst,
    `dev ${n.dev}`,
    n.lladdr !== undefined && `lladdr ${n.lladdr}`,
    n.router && "router",
    n.proxy && "proxy",
    ...n.state,
  ]);
}

/** As `bridge fdb show` prints it: `0a:aa:bb:cc:dd:01 dev flannel.1 dst 192.168.100.2 self permanent`. */
export function formatFdb(e: FdbEntry): string {
  return join([
    e.mac,
    `dev ${e.dev}`,
    e.vlan !== undefined && `vlan ${e.vlan}`,
    e.dst !== undefined && `dst ${e.dst}`,
    e.port !== undefined && `port ${e.port}`,
    e.vni !== undefined && `vni ${e.vni}`,
    e.master !== undefined && `master ${e.master}`,
    ...e.flags,
    e.state,
  ]);
}

/**
 * `bridge link` style, without the misleading `@peer` suffix:
 * `4: vethpod1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master cni0 state forwarding priority 32 cost 2`.
 */
export function formatBridgePort(p: BridgePortLink): string {
  const onoff = (k: string, v: boolean | undefined) => v !== undefined && `${k} ${v ? "on" : "off"}`;
  return join([
    `${p.ifindex}: ${p.ifname}:`,
    p.flags !== undefined && `<${p.flags.join(",")}>`,
    p.mtu !== undefined && `mtu ${p.mtu}`,
    `master ${p.master}`,
    `state ${p.state}`,
    p.priority !== undefined && `priority ${p.priority}`,
    p.cost !== undefined && `cost ${p.cost}`,
    onoff("hairpin", p.hairpin),
    onoff("learning", p.learning),
    onoff("flood", p.flood),
  ]);
}

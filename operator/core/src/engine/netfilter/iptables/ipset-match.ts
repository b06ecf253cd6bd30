/**
 * `-m set --match-set NAME dir[,dir…]` against the ipsets of the netns (kube-proxy IPVS mode keeps
 * KUBE-CLUSTER-IP, KUBE-LOOP-BACK, KUBE-NODE-PORT-TCP, … there).
 */
import type { IpSet } from "../../../model/ipvs.js";
import { inPrefix, inRange, ipv4ToNumber, parseIpv4Prefix } from "./ipv4.js";
import type { MatchEnv } from "./match.js";

const PROTO: Readonly<Record<string, string>> = { "6": "tcp", "17": "udp", "132": "sctp", "1": "icmp" };

function addrIn(addr: string, member: string): boolean {
  const n = ipv4ToNumber(addr);
  if (n === undefined) return false;
  if (member.includes("-")) return inRange(n, member) === true;
  const p = parseIpv4Prefix(member);
  return p !== undefined && inPrefix(n, p);
}

/** "tcp:443", "443", "udp:53", "6:443", "30000-30100" against the packet's protocol and port. */
function portIn(proto: string, port: number | undefined, member: string, anyProto: boolean): boolean {
  if (port === undefined) return false;
  const i = member.indexOf(":");
  // bitmap:port members carry no protocol (kube-proxy keeps one set per protocol); hash:…,port
  // members without one mean tcp, as ipset prints them.
  const mp = i < 0 ? (anyProto ? proto : "tcp") : (PROTO[member.slice(0, i)] ?? member.slice(0, i));
  const spec = i < 0 ? member : member.slice(i + 1);
  if (mp !== proto) return false;
  const [lo, hi] = spec.split("-");
  return port >= Number(lo) && port <= Number(hi ?? lo);
}

/** Whether the packet is in set `name`, looking at the directions `dirs` ("dst,dst", "src"). */
export function matchIpset(name: string, dirs: string, env: MatchEnv): boolean | { unknown: string } {
  if (!env.ipsets)
    return { unknown: `-m set --match-set ${name} ${dirs}: the ipsets were not captured (ipset save)` };
  const set = env.ipsets.get(name);
  if (!set) return { unknown: `-m set --match-set ${name} ${dirs}: no ipset ${name} in the capture` };
  const dims = (set.type.split(":")[1] ?? "").split(",");
  const dirList = dirs.split(",");
  const { packet } = env;
  const pick = (i: number) => (dirList[Math.min(i, dirList.length - 1)] === "src" ? "src" : "dst");
  const memberMatches = (member: string): boolean | undefined => {
    const parts = member.split(",");
    for (let i = 0; i < dims.length; i++) {
      const dim = dims[i];
      const part = parts[i] ?? "";
      const dir = pick(i);
      if (dim === "ip" || dim === "net") {
        if (!addrIn(dir === "src" ? packet.src : packet.dst, part)) return false;
      } else if (dim === "port") {
        const port = dir === "src" ? packet.sport : packet.dport;
        if (!portIn(packet.protocol, port, part, set.type.startsWith("bitmap:"))) return false;
      } else {
        return undefined;
      }
    }
    return true;
  };
  for (const m of set.members) {
    const r = memberMatches(m);
    if (r === undefined) return { unknown: `-m set --match-set ${name}: set type ${set.type} not modelled` };
    if (r) return true;
  }
  return false;
}

/** Index ipsets by name for matchIpset. */
export function ipsetsByName(ipsets: readonly IpSet[] | undefined): ReadonlyMap<string, IpSet> | undefined {
  return ipsets ? new Map(ipsets.map((s) => [s.name, s])) : undefined;
}

/**
 * Node models built in code for engine tests, shaped like the real flannel/calico nodes in
 * parsers/iproute/testdata (same device names, MTUs, VNI, onlink routes and permanent neighbours),
 * so each test can break exactly one thing. The live kernel lab proves the same engine on real state.
 */
import type { Address } from "../../model/addr.js";
import type { FdbEntry } from "../../model/fdb.js";
import type { Link } from "../../model/link.js";
import type { Neighbour } from "../../model/neigh.js";
import type { Route } from "../../model/route.js";
import type { ClusterFacts, NetnsState, NodeState, PodNetns } from "../../model/state.js";
import type { Direction, Hop, Packet, TraceResult } from "../../model/trace.js";
import type { Hook, NetfilterContext } from "../netfilter/types.js";

/** The first packet of a TCP connection from an ephemeral port, as the engine tests trace it. */
export const tcp = (src: string, dst: string, dport = 80): Packet => ({ protocol: "tcp", src, dst, sport: 40000, dport });

/** The netfilter context of a connection's first packet on `hook` (new, no mark, not DNATed yet). */
export function newFlow(hook: Hook, over: Partial<NetfilterContext> = {}): NetfilterContext {
  return { hook, localAddresses: new Set(), mark: 0, ctState: "new", ctDnat: false, ...over };
}

type Overlay = "vxlan" | "host-gw" | "routed";

export interface TopologyOptions {
  overlay: Overlay;
  nodes?: number;
  podsPerNode?: number;
  podMtu?: number;
  underlayMtu?: number;
}

const up = (extra: string[] = []): string[] => ["BROADCAST", "MULTICAST", "UP", "LOWER_UP", ...extra];

/** A netns with only its loopback, and no netfilter state. */
export function emptyNetns(node: string, netns: string): NetnsState {
  return {
    node,
    netns,
    path: netns === "host" ? "/proc/1/ns/net" : `/var/run/netns/${netns}`,
    links: [{ kind: "loopback", ifindex: 1, name: "lo", mtu: 65536, operstate: "UNKNOWN", flags: ["LOOPBACK", "UP", "LOWER_UP"] }],
    addresses: [],
    routes: [],
    rules: [],
    neighbours: [],
    fdb: [],
    sysctls: {},
    netnsIds: [],
    netfilter: {},
  };
}

function addr(ifindex: number, ifname: string, local: string, prefixlen: number): Address {
  return { ifindex, ifname, family: 4, local, prefixlen, scope: "global", flags: [] };
}

function localRoute(ip: string, dev: string): Route {
  return { family: 4, type: "local", table: "local", dst: `${ip}/32`, dev, protocol: "kernel", scope: "host", prefsrc: ip, flags: [] };
}

function route(dst: string, dev: string, extra: Partial<Route> = {}): Route {
  return { family: 4, type: "unicast", table: "main", dst, dev, flags: [], ...extra };
}

const mac = (a: number, b: number, c: number): string =>
  `0a:58:${a.toString(16).padStart(2, "0")}:${b.toString(16).padStart(2, "0")}:${c.toString(16).padStart(2, "0")}:01`;

export interface Topology {
  nodes: NodeState[];
  facts: ClusterFacts;
  /** Pod IPs by node index then pod index (1-based names: node-1, pod 1 is pods[0][0]). */
  pods: string[][];
}

/** N nodes × M pods; pods on a cni0 bridge (vxlan, host-gw) or behind /32 routes (routed). */
export function topology(opts: TopologyOptions): Topology {
  const nodeCount = opts.nodes ?? 2;
  const podCount = opts.podsPerNode ?? 2;
  const podMtu = opts.podMtu ?? (opts.overlay === "vxlan" ? 1450 : 1500);
  const underlayMtu = opts.underlayMtu ?? 1500;
  const nodes: NodeState[] = [];
  const facts: ClusterFacts = { pods: [], nodes: [], services: [] };
  const podIps: string[][] = [];
  const vtepMac = (i: number) => mac(0xfe, i, 0);
  const underlayIp = (i: number) => `192.168.0.${10 + i}`;

  for (let i = 1; i <= nodeCount; i++) {
    const name = `node-${i}`;
    const host = emptyNetns(name, "host");
    host.sysctls = {
      "net.ipv4.ip_forward": "1",
      "net.ipv4.conf.all.rp_filter": "0",
      "net.bridge.bridge-nf-call-iptables": "1",
    };
    host.links.push({ kind: "device", ifindex: 2, name: "eth0", mtu: underlayMtu, operstate: "UP", flags: up(), mac: mac(0xee, i, 0) });
    host.addresses.push(addr(2, "eth0", underlayIp(i), 24));
    host.routes.push(route("192.168.0.0/24", "eth0", { protocol: "kernel", scope: "link", prefsrc: underlayIp(i) }));
    host.routes.push(localRoute(underlayIp(i), "eth0"));
    const podCidr = `10.244.${i}.0/24`;
    const gw = `10.244.${i}.1`;
    if (opts.overlay !== "routed") {
      host.links.push({
        kind: "bridge",
        ifindex: 3,
        name: "cni0",
        mtu: podMtu,
        operstate: "UP",
        flags: up(),
        mac: mac(0xcb, i, 0),
        infoKind: "bridge",
        bridge: { stpState: 0, vlanFiltering: false },
      });
      host.addresses.push(addr(3, "cni0", gw, 24));
      host.routes.push(route(podCidr, "cni0", { protocol: "kernel", scope: "link", prefsrc: gw }));
      host.routes.push(localRoute(gw, "cni0"));
    }
    if (opts.overlay === "vxlan") {
      host.links.push({
        kind: "vxlan",
        ifindex: 4,
        name: "flannel.1",
        mtu: 1450,
        operstate: "UNKNOWN",
        flags: up(),
        mac: vtepMac(i),
        infoKind: "vxlan",
        vxlan: { vni: 1, local: underlayIp(i), dstport: 8472, underlayDev: "eth0", underlayIfindex: 2, external: false, learning: false },
      });
      host.addresses.push(addr(4, "flannel.1", `10.244.${i}.0`, 32));
      host.routes.push(localRoute(`10.244.${i}.0`, "flannel.1"));
    }
    facts.nodes.push({ name, addresses: [underlayIp(i)], podCIDRs: [podCidr] });

    const pods: PodNetns[] = [];
    podIps.push([]);
    for (let j = 1; j <= podCount; j++) {
      const ip = `10.244.${i}.${10 + j}`;
      podIps[i - 1]?.push(ip);
      const netns = `cni-n${i}p${j}`;
      const hostIfindex = 10 + j;
      const veth = `veth${i}${j}`;
      const hostVeth: Link = {
        kind: "veth",
        ifindex: hostIfindex,
        name: opts.overlay === "routed" ? `cali${i}${j}` : veth,
        mtu: podMtu,
        operstate: "UP",
        flags: up(),
        mac: mac(0xaa, i, j),
        linkIfindex: 2,
        linkNetnsid: j - 1,
        infoKind: "veth",
        ...(opts.overlay === "routed" ? {} : { master: "cni0", bridgePort: { state: "forwarding" as const, hairpin: true, learning: true } }),
      };
      host.links.push(hostVeth);
      host.netnsIds.push({ nsid: j - 1, name: netns });
      const pod = emptyNetns(name, netns);
      pod.links.push({
        kind: "veth",
        ifindex: 2,
        name: "eth0",
        mtu: podMtu,
        operstate: "UP",
        flags: up(),
        mac: mac(0x0b, i, j),
        linkIfindex: hostIfindex,
        linkNetnsid: 0,
        infoKind: "veth",
      });
      pod.addresses.push(addr(2, "eth0", ip, opts.overlay === "routed" ? 32 : 24));
      pod.routes.push(localRoute(ip, "eth0"));
      if (opts.overlay === "routed") {
        pod.routes.push(route("169.254.1.1/32", "eth0", { scope: "link" }));
        pod.routes.push(route("0.0.0.0/0", "eth0", { gateway: "169.254.1.1" }));
        host.routes.push(route(`${ip}/32`, hostVeth.name, { scope: "link" }));
      } else {
        pod.routes.push(route(podCidr, "eth0", { protocol: "kernel", scope: "link", prefsrc: ip }));
        pod.routes.push(route("0.0.0.0/0", "eth0", { gateway: gw }));
        const learned: FdbEntry = { mac: mac(0x0b, i, j), dev: hostVeth.name, master: "cni0", flags: [] };
        host.fdb.push(learned);
      }
      pods.push({ state: pod, ips: [ip], pod: { namespace: "default", name: `pod-${i}-${j}` } });
      facts.pods.push({ namespace: "default", name: `pod-${i}-${j}`, ips: [ip], node: name });
    }
    nodes.push({ node: name, host, pods });
  }

  // Cross-node routes, as flanneld (vxlan), flannel host-gw, or a BGP agent (routed) writes them.
  for (const n of nodes) {
    const i = Number(n.node.slice(5));
    for (let k = 1; k <= nodeCount; k++) {
      if (k === i) continue;
      const cidr = `10.244.${k}.0/24`;
      if (opts.overlay === "vxlan") {
        n.host.routes.push(route(cidr, "flannel.1", { gateway: `10.244.${k}.0`, flags: ["onlink"] }));
        const neigh: Neighbour = { dst: `10.244.${k}.0`, dev: "flannel.1", lladdr: vtepMac(k), state: ["PERMANENT"] };
        n.host.neighbours.push(neigh);
        n.host.fdb.push({ mac: vtepMac(k), dev: "flannel.1", dst: underlayIp(k), state: "permanent", flags: ["self"] });
      } else {
        n.host.routes.push(route(cidr, "eth0", { gateway: underlayIp(k) }));
      }
    }
  }
  return { nodes, facts, pods: podIps };
}

/** Finds a link by name in a netns state (throws: tests should name real devices). */
export function linkOf(state: NetnsState, name: string): Link {
  const l = state.links.find((x) => x.name === name);
  if (!l) throw new Error(`test model has no link ${name} in ${state.netns} on ${state.node}`);
  return l;
}

export function node(t: Topology, i: number): NodeState {
  const n = t.nodes[i - 1];
  if (!n) throw new Error(`test model has no node-${i}`);
  return n;
}

export function podState(t: Topology, i: number, j: number): NetnsState {
  const p = node(t, i).pods[j - 1];
  if (!p) throw new Error(`test model has no pod ${j} on node-${i}`);
  return p.state;
}

/** The hops of one direction of a trace result. */
export function hopsOf(r: TraceResult, direction: Direction): Hop[] {
  return r.hops.filter((h) => h.direction === direction);
}

/** The last hop of the request: where it was delivered or stopped. */
export function requestEnd(r: TraceResult): Hop | undefined {
  return hopsOf(r, "request").at(-1);
}

/**
 * An asymmetric node for rp_filter: strict reverse-path filtering on, and its route to `podCidr`
 * moved to a second uplink eth1, so packets from there arrive on eth0 but would be answered via eth1.
 */
export function strictRpFilterVia2ndUplink(state: NetnsState, podCidr: string): void {
  state.sysctls["net.ipv4.conf.all.rp_filter"] = "1";
  state.links.push({ kind: "device", ifindex: 9, name: "eth1", mtu: 1500, operstate: "UP", flags: ["UP", "LOWER_UP"] });
  const route = state.routes.find((r) => r.dst === podCidr);
  if (!route) throw new Error(`test model has no route to ${podCidr} on ${state.node}`);
  route.dev = "eth1";
}

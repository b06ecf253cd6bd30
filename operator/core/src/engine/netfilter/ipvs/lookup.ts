/**
 * IPVS as kube-proxy's IPVS mode uses it: a virtual server per ClusterIP/NodePort/LoadBalancer
 * address and port, real servers (the endpoints) behind it, a scheduler that picks one for each new
 * connection. This evaluator is pure: it reads the virtual servers parsed from `ipvsadm -S -n`
 * (or `ipvsadm -L -n`) and the packet, never the kernel.
 *
 * The kernel netmap's lab runs on has no IPVS (no ip_vs module), so this mode is covered by real
 * captured `ipvsadm`/`ipset`/`iptables` outputs only (parsers/ipvs/testdata, PROVENANCE.md), never by
 * the live lab.
 */
import type { IpvsProtocol, IpvsRealServer, IpvsVirtualServer } from "../../../model/ipvs.js";
import type { NetnsState } from "../../../model/state.js";
import type { EndpointChoice, Evidence, Packet } from "../../../model/trace.js";
import { inNetns } from "../../commands.js";
import { sameAddress } from "../../ip.js";
import type { NetfilterStep } from "../types.js";

/** An IPVS decision: a NetfilterStep of family "ipvs", plus what the hop needs to explain it. */
export interface IpvsStep extends NetfilterStep {
  family: "ipvs";
  /** "dnat" to the chosen real server, or "reject" when no real server can be scheduled. */
  action: "dnat" | "reject";
  /** The virtual server that matched. */
  virtualServer: IpvsVirtualServer;
  /** Every real server in ipvsadm order, with its probability for a new connection. */
  endpoints: EndpointChoice[];
  /** The chosen real server (absent when none can be scheduled). */
  realServer?: IpvsRealServer;
  /** Scheduler, persistence, quiesced servers, an endpoint selector that matched nothing. */
  notes: string[];
}

const PROTOCOL: Readonly<Record<Packet["protocol"], IpvsProtocol | undefined>> = {
  tcp: "TCP",
  udp: "UDP",
  icmp: undefined,
};

/** `ipvsadm -L -n` option that names a service of this protocol. */
const SERVICE_OPTION: Readonly<Record<IpvsProtocol, string>> = {
  TCP: "-t",
  UDP: "-u",
  SCTP: "--sctp-service",
  FWM: "-f",
};

/** "10.96.0.1:443", or "[fd00::1]:443" for IPv6, as ipvsadm prints and accepts it. */
export function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** "TCP 10.96.0.1:443", "FWM 1": the virtual service as ipvsadm's listing names it. */
export function serviceName(vs: IpvsVirtualServer): string {
  return vs.protocol === "FWM"
    ? `FWM ${vs.fwmark ?? vs.address}`
    : `${vs.protocol} ${hostPort(vs.address, vs.port)}`;
}

/**
 * The virtual server a new connection of `packet` hits, in the kernel's order
 * (ip_vs_service_find): a firewall-mark service when the packet carries its mark, then the
 * (protocol, address, port) service. kube-proxy itself only writes the latter.
 */
export function findVirtualServer(
  servers: readonly IpvsVirtualServer[],
  packet: Packet,
  mark = 0,
): IpvsVirtualServer | undefined {
  if (mark !== 0) {
    const fwm = servers.find((vs) => vs.protocol === "FWM" && vs.fwmark === mark);
    if (fwm) return fwm;
  }
  const protocol = PROTOCOL[packet.protocol];
  if (!protocol || packet.dport === undefined) return undefined;
  return servers.find(
    (vs) => vs.protocol === protocol && vs.port === packet.dport && sameAddress(vs.address, packet.dst),
  );
}

/**
 * Each real server's probability of getting a new connection, in ipvsadm order, and a note on what
 * that number means for the scheduler. A real server with weight 0 is quiesced (kube-proxy sets
 * weight 0 on terminating endpoints): no scheduler gives it new connections, so its probability is
 * 0, and when every weight is 0 all probabilities are 0.
 *
 * - rr: the long-run share. Round robin ignores weights other than 0: every real server with
 *   weight > 0 gets 1/n.
 * - wrr: the long-run share, exact over one weighted round: weight / sum of weights (> 0).
 * - lc: equal shares (lc ignores weights other than 0), wlc/sed/nq/lblc/lblcr: weight shares; the
 *   real choice depends on the live connection counts, so these are reported with a note.
 * - sh/dh/mh: the share of the hash space each server owns (proportional to its weight); one
 *   client (sh, mh) or destination (dh) always hashes to the same server, reported with a note.
 */
export function schedulerShares(vs: IpvsVirtualServer): { probabilities: number[]; note?: string } {
  const live = vs.realServers.map((rs) => rs.weight > 0);
  const count = live.filter(Boolean).length;
  const sum = vs.realServers.reduce((acc, rs) => acc + Math.max(rs.weight, 0), 0);
  const equal = vs.realServers.map((_, i) => (live[i] && count > 0 ? 1 / count : 0));
  const weighted = vs.realServers.map((rs, i) => (live[i] && sum > 0 ? rs.weight / sum : 0));
  switch (vs.scheduler) {
    case "rr":
      return { probabilities: equal };
    case "wrr":
      return { probabilities: weighted };
    case "lc":
      return {
        probabilities: equal,
        note: "scheduler lc sends each new connection to the real server with the fewest connections (ActiveConn × 256 + InActConn): the shares shown are the long-run even split, not the next connection's choice",
      };
    case "sh":
    case "mh":
    case "dh":
      return {
        probabilities: weighted,
        note: `scheduler ${vs.scheduler} hashes the ${vs.scheduler === "dh" ? "destination" : "source"} address onto real servers in proportion to their weights: the shares shown are over many ${vs.scheduler === "dh" ? "destinations" : "clients"}; one ${vs.scheduler === "dh" ? "destination" : "client"} always lands on the same real server`,
      };
    default:
      return {
        probabilities: weighted,
        note: `scheduler ${vs.scheduler} picks by live connection counts (or a rule netmap does not model): the shares shown are the weight shares`,
      };
  }
}

/** The real server `wanted` names: an index in ipvsadm order, or "ip:port" / "ip". */
function pickIndex(
  servers: readonly IpvsRealServer[],
  wanted: number | string | undefined,
  probabilities: readonly number[],
): { index: number; problem?: string } {
  const firstLive = probabilities.findIndex((p) => p > 0);
  const fallback = Math.max(firstLive, 0);
  if (wanted === undefined) return { index: fallback };
  const index =
    typeof wanted === "number"
      ? wanted >= 0 && wanted < servers.length
        ? wanted
        : -1
      : servers.findIndex(
          (rs) => hostPort(rs.address, rs.port) === wanted || sameAddress(rs.address, wanted),
        );
  if (index >= 0) return { index };
  const all = servers.map((rs) => hostPort(rs.address, rs.port)).join(", ");
  const followed = servers[fallback];
  return {
    index: fallback,
    problem: `endpoint ${wanted} is not one of the real servers (${all}); following ${followed ? hostPort(followed.address, followed.port) : "none"}`,
  };
}

function evidenceOf(vs: IpvsVirtualServer): Evidence {
  const saved = vs.text.trimStart().startsWith("-A");
  return { source: saved ? "ipvsadm -S -n" : "ipvsadm -L -n", text: vs.text };
}

/** `ipvsadm -L -n -t 10.96.0.1:443` (or -u, --sctp-service, -f MARK), in the netns. */
export function ipvsadmCommand(state: NetnsState, vs: IpvsVirtualServer): string {
  const option = SERVICE_OPTION[vs.protocol];
  const target = vs.protocol === "FWM" ? String(vs.fwmark ?? vs.address) : hostPort(vs.address, vs.port);
  return inNetns(state, `ipvsadm -L -n ${option} ${target}`);
}

/**
 * IPVS for the first packet of a connection in netns `state`: finds the virtual server for the
 * packet's (protocol, destination, port) (or a firewall-mark service for `mark`), computes each
 * real server's probability, and follows the real server `endpoint` names (an index in ipvsadm
 * order or "ip:port"; default the first one that can be scheduled). Returns undefined when IPVS has
 * no virtual server for the packet (or the IPVS table was not captured).
 *
 * The step's packet has the real server as destination (Masq, i.e. NAT: what kube-proxy uses). When
 * no real server can be scheduled (none, or all quiesced at weight 0) the action is "reject": the
 * kernel (ip_vs_leave) answers with ICMP port unreachable and drops the packet.
 */
export function ipvsLookup(
  state: NetnsState,
  packet: Packet,
  endpoint?: number | string,
  mark = 0,
): IpvsStep | undefined {
  const vs = findVirtualServer(state.netfilter.ipvs ?? [], packet, mark);
  if (!vs) return undefined;
  const { probabilities, note } = schedulerShares(vs);
  const notes: string[] = [];
  if (note) notes.push(note);
  if (vs.persistent !== undefined) {
    notes.push(
      `persistent ${vs.persistent}: after a client's first connection, every connection from the same client IP goes to the same real server until ${vs.persistent} s pass without one (Service sessionAffinity: ClientIP)`,
    );
  }
  const quiesced = vs.realServers.filter((rs) => rs.weight <= 0);
  if (quiesced.length > 0) {
    notes.push(
      `weight 0 (quiesced, e.g. a terminating endpoint): ${quiesced.map((rs) => hostPort(rs.address, rs.port)).join(", ")} gets no new connections`,
    );
  }
  const base = {
    family: "ipvs" as const,
    table: "ipvs",
    chain: serviceName(vs),
    evidence: evidenceOf(vs),
    command: ipvsadmCommand(state, vs),
    virtualServer: vs,
    ...(vs.persistent !== undefined
      ? {
          affinity: {
            mode: "ClientIP" as const,
            timeoutSeconds: vs.persistent,
            client: packet.src,
            evidence: [evidenceOf(vs)],
          },
        }
      : {}),
  };
  const schedulable = probabilities.some((p) => p > 0);
  if (!schedulable) {
    return {
      ...base,
      action: "reject",
      endpoints: vs.realServers.map((rs) => ({
        address: hostPort(rs.address, rs.port),
        probability: 0,
        via: `${serviceName(vs)} real server (${rs.forward}, weight ${rs.weight})`,
        chosen: false,
      })),
      notes,
    };
  }
  const { index, problem } = pickIndex(vs.realServers, endpoint, probabilities);
  if (problem) notes.push(problem);
  const endpoints: EndpointChoice[] = vs.realServers.map((rs, i) => ({
    address: hostPort(rs.address, rs.port),
    probability: probabilities[i] ?? 0,
    via: `${serviceName(vs)} real server (${rs.forward}, weight ${rs.weight})`,
    chosen: i === index,
  }));
  const realServer = vs.realServers[index] as IpvsRealServer;
  return {
    ...base,
    action: "dnat",
    endpoints,
    realServer,
    notes,
    // A firewall-mark service's real servers may have port 0: the packet keeps its port then.
    packet: {
      ...packet,
      dst: realServer.address,
      ...(realServer.port !== 0 ? { dport: realServer.port } : {}),
    },
  };
}

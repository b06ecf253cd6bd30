/**
 * What a trace produces: the packet's way as an ordered list of hops, a verdict, and findings.
 * This is the shape `kubectl netmap … -o json` prints and the NetworkTrace status carries.
 */

export const PROTOCOLS = ["tcp", "udp", "icmp"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface Packet {
  protocol: Protocol;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

/** Where in the stack a hop sits; the TUI colours by it. */
export const LAYERS = ["netns", "link", "l2", "l3", "netfilter", "ipvs", "tunnel", "underlay"] as const;
export type Layer = (typeof LAYERS)[number];

/** The kernel object that implements the hop. */
export const PRIMITIVES = [
  "netns",
  "veth",
  "bridge",
  "bridge-port",
  "fdb",
  "route",
  "policy-rule",
  "neighbour",
  "sysctl",
  "iptables-chain",
  "iptables-rule",
  "nft-chain",
  "nft-rule",
  "nft-map",
  "ipvs-service",
  "ipset",
  "vxlan",
  "geneve",
  "ipip",
  "device",
  "local",
] as const;
export type Primitive = (typeof PRIMITIVES)[number];

export const HOP_ACTIONS = [
  "forward",
  "lookup",
  "jump",
  "accept",
  "mark",
  "dnat",
  "snat",
  "masquerade",
  "encap",
  "decap",
  "transmit",
  "receive",
  "deliver",
  "drop",
  "reject",
] as const;
export type HopAction = (typeof HOP_ACTIONS)[number];

/** The exact piece of kernel state a hop used. */
export interface Evidence {
  /** The command whose output this came from, e.g. "ip -j route show table all". */
  source: string;
  /** The line, as the tool prints it (or as iproute2's text form renders the JSON object). */
  text: string;
  /** 1-based line in the captured output, for line-oriented sources. */
  line?: number;
}

/** One endpoint a Service hop may send the packet to. */
export interface EndpointChoice {
  /** "10.244.1.5:8080". */
  address: string;
  /** Probability that a new connection lands here (0..1), from the rules as written. */
  probability: number;
  /** The chain/map element that implements the choice (KUBE-SEP-…, endpoint-…, real server). */
  via: string;
  /** The endpoint the trace follows. */
  chosen: boolean;
}

export interface Hop {
  /** 0-based position on the path. */
  index: number;
  node: string;
  /** "host" or the pod netns name. */
  netns: string;
  /** "ns/name" of the pod that owns the netns, when known. */
  pod?: string;
  layer: Layer;
  primitive: Primitive;
  /** The device this hop happens on (eth0, veth1234, cni0, flannel.1). */
  device?: string;
  /** The chain, rule or map (nat/KUBE-SERVICES, "nat/KUBE-SVC-X rule 2", kube-proxy/service-ips). */
  rule?: string;
  action: HopAction;
  /** One line for a person: what happens here and why. */
  summary: string;
  evidence: Evidence[];
  /** A command that shows the same thing by hand. */
  command: string;
  /** The packet as it leaves this hop, when this hop changed it (DNAT, SNAT, encapsulation). */
  packet?: Packet;
  /** For encapsulation: the outer header. */
  outer?: { src: string; dst: string; protocol: "udp" | "ipip"; dport?: number; vni?: number };
  /** For Service hops: every endpoint with its probability. */
  endpoints?: EndpointChoice[];
}

export const FINDING_CODES = [
  "MTU_EXCEEDS_TUNNEL",
  "LINK_DOWN",
  "BRIDGE_PORT_NOT_FORWARDING",
  "IP_FORWARD_DISABLED",
  "BR_NETFILTER_OFF",
  "RP_FILTER_STRICT",
  "NO_ROUTE",
  "ROUTE_BLACKHOLE",
  "NO_NEIGHBOUR",
  "NO_FDB_ENTRY",
  "NETFILTER_DROP",
  "NETFILTER_REJECT",
  "SERVICE_NO_ENDPOINTS",
  "IPVS_NO_VIRTUAL_SERVER",
  /** A rule used a match or expression netmap cannot evaluate; it was treated as not matching. */
  "UNEVALUATED_RULE",
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

export const SEVERITIES = ["error", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** Index of the hop it belongs to. */
  hop?: number;
  node: string;
  netns?: string;
  device?: string;
  message: string;
  evidence: Evidence[];
}

export const VERDICTS = ["Delivered", "Dropped", "Rejected", "Unknown"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The hops one node contributed, with the packet as it entered and left (Antrea Traceflow's observations). */
export interface NodeSegment {
  node: string;
  firstHop: number;
  lastHop: number;
  packetIn: Packet;
  packetOut?: Packet;
}

export interface TraceResult {
  packet: Packet;
  verdict: Verdict;
  /** Why the trace ended: "delivered to eth0 of default/pod-b", "dropped by filter/FORWARD rule 3", ... */
  reason: string;
  /** Index of the hop where the packet stopped (the delivering hop for Delivered). */
  stoppedAt?: number;
  /** For Unknown: what state was missing (which node, which file/source). */
  missing?: string[];
  hops: Hop[];
  findings: Finding[];
  segments: NodeSegment[];
}

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
  /** A connection-tracking entry: how the kernel undoes a request's NAT on its reply. */
  "conntrack",
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
  /** Conntrack restores a reply's source that the request's DNAT changed (the Service address comes back). */
  "un-dnat",
  /** Conntrack restores a reply's destination that the request's SNAT/MASQUERADE changed. */
  "un-snat",
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

/** How a Service keeps a client on one endpoint (`sessionAffinity`); kube-proxy only has ClientIP. */
export const AFFINITY_MODES = ["ClientIP"] as const;
export type AffinityMode = (typeof AFFINITY_MODES)[number];

/**
 * A Service's session affinity as the rules implement it. A trace models a connection's first
 * packet, which no affinity entry matches yet: the endpoint choice is the random one, and this says
 * that later connections from the same client stick to the endpoint it reached.
 */
export interface SessionAffinity {
  mode: AffinityMode;
  /** How long the client stays with its endpoint after its last new connection. */
  timeoutSeconds: number;
  /** The address that is remembered (the packet's source as it reaches the Service's rules). */
  client: string;
  /**
   * The rules that implement it: iptables `-m recent --rcheck --seconds N` in KUBE-SVC-/KUBE-SVL-
   * and `--set` in the KUBE-SEP-; nft `affinity-…` sets (`flags timeout; timeout N`), the
   * `ip saddr @affinity-…` rules and `update @affinity-…`; IPVS `persistent N`.
   */
  evidence: Evidence[];
}

/** The outer header of an encapsulated packet. */
export interface OuterHeader {
  src: string;
  dst: string;
  protocol: "udp" | "ipip";
  dport?: number;
  vni?: number;
}

/** The two directions of a connection: the request (client → server) and the reply back. */
export const DIRECTIONS = ["request", "reply"] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface Hop {
  /** 0-based position on the path, one numbering for both directions. */
  index: number;
  /** The request, or the reply coming back. */
  direction: Direction;
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
  outer?: OuterHeader;
  /** For Service hops: every endpoint with its probability. */
  endpoints?: EndpointChoice[];
  /** For Service hops of a Service with session affinity. */
  affinity?: SessionAffinity;
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
  /** A pod's host-side veth is not a port of the bridge its pod's gateway lives on (`nomaster`). */
  "VETH_NOT_IN_BRIDGE",
  /** The reply does not cross the netns whose conntrack NATed the request, so the NAT is never undone. */
  "REPLY_BYPASSES_NAT",
  /** The reply reaches the client with addresses its connection does not have: no socket takes it. */
  "REPLY_MISMATCH",
  /** A routed packet arrives from one of the receiving netns's own addresses: dropped as a martian source. */
  "MARTIAN_SOURCE",
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
  direction: Direction;
  firstHop: number;
  lastHop: number;
  packetIn: Packet;
  packetOut?: Packet;
}

/** How one direction of the connection went. */
export interface DirectionResult {
  direction: Direction;
  /** The packet as this direction starts: the request as the client sends it, the reply as the server answers. */
  packet: Packet;
  verdict: Verdict;
  reason: string;
  /** Index of the hop where this direction stopped (the delivering hop for Delivered). */
  stoppedAt?: number;
  missing?: string[];
}

export interface TraceResult {
  /** The request as the client sends it. */
  packet: Packet;
  /** Delivered only when the request and its reply both arrive; otherwise how the direction that stopped ended. */
  verdict: Verdict;
  /** Why the trace ended: "delivered to eth0 of default/pod-b", "reply: dropped by filter/FORWARD rule 3", ... */
  reason: string;
  /** Index of the hop where the packet stopped (the delivering hop of the reply for Delivered). */
  stoppedAt?: number;
  /** The direction the trace stopped in, when it did not deliver both ways. */
  stoppedIn?: Direction;
  /** For Unknown: what state was missing (which node, which file/source). */
  missing?: string[];
  /** The request (and, once it is delivered, the reply) with one hop numbering. */
  directions: DirectionResult[];
  hops: Hop[];
  findings: Finding[];
  segments: NodeSegment[];
}

/**
 * The contract between the trace engine and the netfilter evaluators (iptables, nftables, IPVS).
 *
 * The engine knows where a packet meets a netfilter hook (bridged traffic through br_netfilter,
 * routed traffic, locally generated traffic) and asks each family for the base chains registered
 * on that hook. It runs them in priority order, as the kernel does, carrying NAT and marks from one
 * to the next, and stops at the first drop or reject. Evaluators are pure: they read the parsed
 * ruleset and the packet, never the kernel.
 */
import type { EndpointChoice, Evidence, Packet, SessionAffinity } from "../../model/trace.js";

export type Hook = "prerouting" | "input" | "forward" | "output" | "postrouting";

/** What netfilter knows about the packet beyond its 5-tuple. */
export interface NetfilterContext {
  hook: Hook;
  /** Input device name (`-i`, `iifname`): for bridged packets with br_netfilter, the bridge. */
  inDev?: string;
  /** Output device name (`-o`, `oifname`), known after routing (forward, output, postrouting). */
  outDev?: string;
  /** For bridged packets: the bridge ports (`-m physdev`), e.g. the pod's host-side veth. */
  physInDev?: string;
  physOutDev?: string;
  /** Addresses local to this netns (for `-m addrtype --dst-type LOCAL`, `fib daddr type local`). */
  localAddresses: ReadonlySet<string>;
  /** Current packet mark (kube-proxy sets 0x4000 to ask for masquerade). */
  mark: number;
  /** Conntrack state of the flow as a new connection sees it. Traces model the first packet: "new". */
  ctState: "new" | "established" | "related" | "invalid";
  /** Whether the destination was already NATed (ct status dnat), e.g. in POSTROUTING after a DNAT. */
  ctDnat: boolean;
  /**
   * Which endpoint a Service choice should follow: an index into the endpoints in rule order, or an
   * "ip:port" address. Default: the first endpoint.
   */
  endpoint?: number | string;
}

/** One step of the walk: a chain entered, a rule that matched, a policy applied. */
export interface NetfilterStep {
  /** "iptables" or "nftables" (or "ipvs"; "conntrack" for the NAT a reply gets undone). */
  family: "iptables" | "nftables" | "ipvs" | "conntrack";
  /** Table: "nat", "filter", ... or nft "ip kube-proxy". */
  table: string;
  chain: string;
  /** 1-based rule index in the chain; absent for a chain policy. */
  ruleIndex?: number;
  /**
   * What the matching rule (or policy) did: jump/goto into another chain, return, accept, drop,
   * reject, dnat, snat, masquerade, mark; "policy" when the chain's policy decided.
   */
  action:
    | "jump"
    | "goto"
    | "return"
    | "accept"
    | "drop"
    | "reject"
    | "dnat"
    | "snat"
    | "masquerade"
    | "mark"
    | "policy"
    | "un-dnat"
    | "un-snat";
  /** The chain jumped to, for jump/goto (and for a vmap/numgen choice). */
  target?: string;
  /** The rule (or chain declaration) as the dump prints it. */
  evidence: Evidence;
  /** For a Service load-balancing step: every endpoint with its probability. */
  endpoints?: EndpointChoice[];
  /** For a Service load-balancing step of a Service with session affinity. */
  affinity?: SessionAffinity;
  /** The packet after this step, if it changed (DNAT/SNAT). */
  packet?: Packet;
  /** Command to see it by hand: `iptables -t nat -S KUBE-SVC-X`, `nft list chain ip kube-proxy service-…`. */
  command: string;
}

export interface ChainOutcome {
  verdict: "accept" | "drop" | "reject";
  packet: Packet;
  mark: number;
  steps: NetfilterStep[];
  /** Set when a source/destination NAT was applied in this base chain. */
  dnat?: boolean;
  snat?: boolean;
  /** Set when evaluation could not decide (unsupported match/expression): names what. */
  unknown?: string;
}

/** A base chain registered on a hook, ready to run on a packet. */
export interface BaseChain {
  family: "iptables" | "nftables" | "conntrack";
  /** "nat", "filter", "ip kube-proxy", ... */
  table: string;
  chain: string;
  /** Netfilter priority: raw -300, mangle -150, dstnat -100, filter 0, security 50, srcnat 100. */
  priority: number;
  /** "filter" | "nat" | "route": nat chains only see the first packet of a connection. */
  type: "filter" | "nat" | "route";
  evaluate(packet: Packet, ctx: NetfilterContext): ChainOutcome;
}

/** Each family lists its base chains for a hook; the engine merges them by priority. */
export type BaseChainSource = (hook: Hook) => BaseChain[];

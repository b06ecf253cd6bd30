/**
 * A trace as the packet lives it: one node at a time, in both directions of a connection. Each
 * node's walk starts from an Arrival (sent by a local process, or received from the wire) and ends
 * with a verdict or a Departure (the frame as it leaves on the wire, and the node it goes to). What
 * crosses between nodes is only what travels on the wire; marks and NAT state stay on the node that
 * made them, as the conntrack entries that node's result carries, so that the same node can undo its
 * NAT when the reply comes through. Everything here is plain data: it is what the operator hands
 * from probe to probe and what a NetworkTrace's per-node results hold.
 */
import type { Direction, Finding, Hop, OuterHeader, Packet, Verdict } from "./trace.js";

/** A packet between nodes: exactly what is on the wire. */
export interface WireFrame {
  /** The IP packet (the inner one, when encapsulated). */
  packet: Packet;
  /** The outer header, when encapsulated (VXLAN: UDP from the local to the remote VTEP). */
  outer?: OuterHeader;
  /**
   * The underlay address the frame is sent to: the next hop of the route (a gateway, or the
   * destination itself when directly connected), or the remote VTEP when encapsulated.
   */
  to: string;
  /** Destination MAC of the (inner) Ethernet frame, when known: a VXLAN device takes only frames for its MAC. */
  dstMac?: string;
  /** The largest packet the sender emits (the MTU of the sending pod's interface): a packet of that length. */
  size?: number;
}

/** Where the packet enters a node's walk. */
export type Arrival =
  | {
      /** Sent by a process of this node: a pod's (netns named, or the one holding packet.src) or the host's. */
      kind: "local";
      packet: Packet;
      /** The netns name ("host" for the node's own); default: the netns that holds packet.src. */
      netns?: string;
      /** The largest packet the sender emits, when the walk should not take its interface's MTU. */
      size?: number;
    }
  | {
      /** Received from the wire by the node's host netns. */
      kind: "wire";
      frame: WireFrame;
      /** The receiving device; default: the device of the host netns that holds frame.to. */
      device?: string;
    };

/** The frame as it leaves a node, and where it goes. */
export interface Departure {
  frame: WireFrame;
  /** The device of the host netns it leaves by. */
  device: string;
  /** The node that owns frame.to per the cluster facts; absent when no known node does. */
  node?: string;
}

/**
 * What conntrack keeps in one netns for a connection the request created there: the tuple a reply
 * must have to match, and the NAT to undo on it (un-SNAT before routing, un-DNAT after).
 */
export interface ConntrackEntry {
  node: string;
  netns: string;
  /** The request as it entered this netns (before any NAT here). */
  original: Packet;
  /** The reply that matches the entry: the request as it left this netns (after NAT here), reversed. */
  reply: Packet;
  /** The request's destination was translated here (IPS_DST_NAT): the reply's source is restored. */
  dnat: boolean;
  /** The request's source was translated here (IPS_SRC_NAT): the reply's destination is restored. */
  snat: boolean;
  /** The hop (global index) where the request was tracked here: its last netfilter hop in this netns. */
  hop: number;
}

/** How one node's walk ends. */
export type NodeEnd =
  | {
      kind: "verdict";
      verdict: Verdict;
      /** Why, for a person: "delivered to 10.244.1.5 in pod default/b", "no route to 10.9.0.1 in …". */
      reason: string;
      /** For Unknown: what state was missing. */
      missing?: string[];
    }
  | { kind: "departure"; departure: Departure };

/** A trace to run: the packet, where it starts, which Service endpoint to follow. */
export interface TraceRequest {
  /** The request as the client sends it. */
  packet: Packet;
  /** Where it starts: the client's node, and its netns there (default: the netns holding packet.src). */
  source: { node: string; netns?: string };
  /** Which Service endpoint to follow: an index in rule order, or "ip:port". Default: the first. */
  endpoint?: number | string;
}

/**
 * One node's walk, as the operator hands it to that node's probe (and the in-process trace loop to
 * itself): everything the node needs besides its own kernel state and the cluster facts.
 */
export interface NodeTask {
  /** Position of this walk in the trace, from 0. */
  step: number;
  node: string;
  direction: Direction;
  arrival: Arrival;
  /** Global index of this walk's first hop. */
  firstHop: number;
  endpoint?: number | string;
  /** Reply only: the conntrack entries the request created on this node. */
  conntrack: ConntrackEntry[];
  /** Reply only: the request as the client sent it, the connection the client's socket holds. */
  connection?: Packet;
}

/** One node's part of a trace: its hops and findings (global hop numbers), and how it ended. */
export interface NodeWalkResult {
  /** The task's step. */
  step: number;
  node: string;
  direction: Direction;
  arrival: Arrival;
  hops: Hop[];
  findings: Finding[];
  end: NodeEnd;
  /** The connection-tracking entries the request created on this node (empty for the reply). */
  conntrack: ConntrackEntry[];
}

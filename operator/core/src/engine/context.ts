/**
 * What a node's walk carries from netns to netns: the node it sees, the hop recorder, which
 * direction it follows, and connection tracking (the entries the request creates; the request's
 * entries the reply meets).
 */
import type { Direction, Packet } from "../model/trace.js";
import type { ConntrackEntry, Departure } from "../model/walk.js";
import type { TraceBuilder } from "./builder.js";
import type { ConntrackTable } from "./conntrack.js";
import type { NetnsView, NodeWorld } from "./world.js";

export interface WalkContext {
  world: NodeWorld;
  b: TraceBuilder;
  direction: Direction;
  /** Which Service endpoint to follow: an index in rule order, or "ip:port". */
  endpoint?: number | string;
  /** Reply: the request's entries on this node. */
  conntrack: ConntrackTable;
  /** Request: the entries this walk creates, in order. */
  created: ConntrackEntry[];
  /** Reply: the request as the client sent it; the reply must arrive as its reverse. */
  connection?: Packet;
}

/** Where the packet is on this node: which netns, as what packet, and how it got there. */
export interface Cursor {
  view: NetnsView;
  packet: Packet;
  /** The device it was received on; undefined while it is still in the sender's stack. */
  inDev?: string;
  /** For frames bridged into the stack: the bridge port it came through. */
  physInDev?: string;
  /** The largest packet the sender emits (its interface MTU). */
  sourceMtu?: number;
}

/** Where a transmission leads: into another netns of this node, or onto the wire. */
export type Next = { kind: "netns"; cursor: Cursor } | { kind: "departure"; departure: Departure };

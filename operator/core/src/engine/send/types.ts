import type { Link } from "../../model/link.js";
import type { Packet } from "../../model/trace.js";
import type { NetnsView } from "../world.js";

/** A packet handed to an output device after routing and POSTROUTING. */
export interface Egress {
  view: NetnsView;
  link: Link;
  packet: Packet;
  /** The route's gateway, or the destination itself for a directly connected route. */
  nextHop: string;
  /** The largest packet the sender emits (its interface MTU). */
  sourceMtu?: number;
}

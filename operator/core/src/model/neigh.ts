/** Neighbour (ARP/NDP) entries, `ip -j neigh`. */
export type NeighState =
  | "PERMANENT"
  | "NOARP"
  | "REACHABLE"
  | "STALE"
  | "DELAY"
  | "PROBE"
  | "FAILED"
  | "INCOMPLETE"
  | "NONE";

export interface Neighbour {
  /** The L3 address (`dst`). */
  dst: string;
  dev: string;
  lladdr?: string;
  state: NeighState[];
  router?: boolean;
  proxy?: boolean;
}

/** A neighbour can be used to send a frame without resolution first. */
export function isNeighbourUsable(n: Neighbour): boolean {
  if (!n.lladdr) return false;
  return !n.state.includes("FAILED") && !n.state.includes("INCOMPLETE");
}

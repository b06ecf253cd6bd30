/** Loads the real trace results in this directory (see README.md for how each was produced). */
import { readFileSync } from "node:fs";
import type { TraceResult } from "@netmap/core";

/** The trace files, by name without ".json". */
export const TRACE_NAMES = [
  "same-node-icmp",
  "cross-node-tcp",
  "cross-node-mtu",
  "no-route-dropped",
  "cross-node-hostgw-udp",
  "missing-node-unknown",
  "service-clusterip-iptables",
  "service-clusterip-nftables",
  "service-sticky-iptables",
  "service-sticky-nftables",
  "service-no-endpoints-iptables",
  "service-no-endpoints-nftables",
  "service-nodeport-iptables",
  "service-nodeport-nftables",
] as const;

/** One trace file's name. */
export type TraceName = (typeof TRACE_NAMES)[number];

/** Path of a trace file. */
export function tracePath(name: TraceName): string {
  return new URL(`./${name}.json`, import.meta.url).pathname;
}

/** Reads and parses a trace file. */
export function loadTrace(name: TraceName): TraceResult {
  return JSON.parse(readFileSync(tracePath(name), "utf8")) as TraceResult;
}

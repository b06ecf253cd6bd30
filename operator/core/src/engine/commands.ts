/**
 * Commands a person can paste to see a hop by hand, in the right netns. The host netns of a real
 * node is PID 1's and needs no prefix (the command runs on that node); a named netns uses `ip -n` /
 * `ip netns exec` (also one a probe pod reached as /proc/1/root/run/netns/<name>: on the node it is
 * /run/netns/<name>); any other netns path uses nsenter.
 */
import type { NetnsState } from "../model/state.js";

const NETNS_DIR = "/var/run/netns/";
/** The node's own /run/netns as a probe in a pod reaches it (hostPID, through PID 1's root). */
const NODE_NETNS_DIR = "/proc/1/root/run/netns/";

function netnsName(state: NetnsState): string | undefined {
  if (state.path?.startsWith(NETNS_DIR)) return state.path.slice(NETNS_DIR.length);
  if (state.path?.startsWith(NODE_NETNS_DIR)) return state.path.slice(NODE_NETNS_DIR.length);
  if (state.path === undefined && state.netns !== "host") return state.netns;
  return undefined;
}

function isInitNetns(state: NetnsState): boolean {
  return state.path === undefined ? state.netns === "host" : state.path === "/proc/1/ns/net";
}

/** `ip …` or `bridge …` in the netns: both take `-n <name>`. */
export function iproute(state: NetnsState, tool: "ip" | "bridge", args: string): string {
  if (isInitNetns(state)) return `${tool} ${args}`;
  const name = netnsName(state);
  if (name !== undefined) return `${tool} -n ${name} ${args}`;
  return `nsenter --net=${state.path} ${tool} ${args}`;
}

/** Any other tool (iptables, nft, sysctl, ipvsadm) in the netns. */
export function inNetns(state: NetnsState, command: string): string {
  if (isInitNetns(state)) return command;
  const name = netnsName(state);
  if (name !== undefined) return `ip netns exec ${name} ${command}`;
  return `nsenter --net=${state.path} ${command}`;
}

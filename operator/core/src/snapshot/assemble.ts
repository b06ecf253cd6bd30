/**
 * From captured command outputs to the model: each source through its parser, one netns at a time.
 * Pure: the caller reads the files (or runs the commands) and hands over the text.
 */
import type { NetnsCapture, NodeCapture } from "../capture/snapshot-format.js";
import { SNAPSHOT_FORMAT_VERSION } from "../capture/snapshot-format.js";
import { type SourceName, sourceSpec } from "../capture/sources.js";
import type { Link } from "../model/link.js";
import { nodeAddresses } from "../model/node-addresses.js";
import type { ClusterFacts, NetnsState, NodeState, PodFact } from "../model/state.js";
import { ParseError } from "../parsers/errors.js";
import {
  parseBridgeFdbJson,
  parseBridgeLinkJson,
  parseIpAddrJson,
  parseIpLinkJson,
  parseIpNeighJson,
  parseIpRouteJson,
  parseIpRuleJson,
  parseNetnsListIdJson,
  parseSysctl,
} from "../parsers/iproute/index.js";
import { parseIptablesSave } from "../parsers/iptables/index.js";
import { parseIpsetSave, parseIpvsadmSave } from "../parsers/ipvs/index.js";
import { parseNftJson } from "../parsers/nftables/index.js";

/** A capture that cannot be turned into a model: names the node, the netns, the source and its file. */
export class CaptureError extends Error {
  constructor(
    readonly node: string,
    readonly netns: string,
    readonly source: SourceName | undefined,
    detail: string,
    readonly hint: string,
  ) {
    super(`node ${node}, netns ${netns}${source ? `, ${sourceSpec(source).file}` : ""}: ${detail}`);
    this.name = "CaptureError";
  }
}

function parse<T>(
  node: string,
  cap: NetnsCapture,
  source: SourceName,
  fn: (text: string) => T,
): T | undefined {
  const text = cap.outputs[source];
  const entry = cap.manifest.sources[source];
  if (text === undefined) {
    if (entry?.status === "absent" || sourceSpec(source).optional) return undefined;
    if (sourceSpec(source).scope === "host" && cap.manifest.netns !== "host") return undefined;
    throw new CaptureError(
      node,
      cap.manifest.netns,
      source,
      `the capture has no output for \`${sourceSpec(source).argv.join(" ")}\``,
      "capture the node again with `kubectl netmap snapshot`",
    );
  }
  try {
    return fn(text);
  } catch (e) {
    if (e instanceof ParseError) {
      throw new CaptureError(
        node,
        cap.manifest.netns,
        source,
        e.message,
        "the file is truncated or not the command's output: capture the node again",
      );
    }
    throw e;
  }
}

/** Fills a port's state from `bridge -j link` when `ip -d link` did not carry bridge_slave details. */
function mergeBridgePorts(links: Link[], ports: ReturnType<typeof parseBridgeLinkJson>): void {
  for (const p of ports) {
    const link = links.find((l) => l.ifindex === p.ifindex);
    if (!link || link.bridgePort) continue;
    const state = p.state;
    if (
      state === "forwarding" ||
      state === "disabled" ||
      state === "blocking" ||
      state === "learning" ||
      state === "listening"
    ) {
      link.bridgePort = {
        state,
        ...(p.hairpin !== undefined ? { hairpin: p.hairpin } : {}),
        ...(p.learning !== undefined ? { learning: p.learning } : {}),
      };
    }
  }
}

export function assembleNetns(node: string, cap: NetnsCapture): NetnsState {
  const links = parse(node, cap, "ip-link", parseIpLinkJson) ?? [];
  const ports = parse(node, cap, "bridge-link", parseBridgeLinkJson);
  if (ports) mergeBridgePorts(links, ports);
  const iptables = parse(node, cap, "iptables-save", parseIptablesSave);
  const nftables = parse(node, cap, "nft-ruleset", parseNftJson);
  const ipvs = parse(node, cap, "ipvsadm", parseIpvsadmSave);
  const ipsets = parse(node, cap, "ipset", parseIpsetSave);
  return {
    node,
    netns: cap.manifest.netns,
    path: cap.manifest.path,
    links,
    addresses: parse(node, cap, "ip-addr", parseIpAddrJson) ?? [],
    routes: parse(node, cap, "ip-route", parseIpRouteJson) ?? [],
    rules: parse(node, cap, "ip-rule", parseIpRuleJson) ?? [],
    neighbours: parse(node, cap, "ip-neigh", parseIpNeighJson) ?? [],
    fdb: parse(node, cap, "bridge-fdb", parseBridgeFdbJson) ?? [],
    sysctls: parse(node, cap, "sysctl", parseSysctl) ?? {},
    netnsIds: parse(node, cap, "netns-ids", parseNetnsListIdJson) ?? [],
    netfilter: {
      ...(iptables ? { iptables } : {}),
      ...(nftables ? { nftables } : {}),
      ...(ipvs ? { ipvs } : {}),
      ...(ipsets ? { ipsets } : {}),
    },
  };
}

/** One node's capture as a NodeState: the host netns and every pod netns that hangs off it. */
export function assembleNodeState(capture: NodeCapture): NodeState {
  const { manifest } = capture;
  if (manifest.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new CaptureError(
      manifest.node,
      "-",
      undefined,
      `snapshot format version ${manifest.formatVersion} is not supported (this netmap reads version ${SNAPSHOT_FORMAT_VERSION})`,
      "capture the node again with this version of `kubectl netmap snapshot`",
    );
  }
  const hostCap = capture.netns.find((n) => n.manifest.netns === "host");
  if (!hostCap) {
    throw new CaptureError(
      manifest.node,
      "host",
      undefined,
      "the capture has no host netns",
      "capture the node again",
    );
  }
  return {
    node: manifest.node,
    host: assembleNetns(manifest.node, hostCap),
    pods: capture.netns
      .filter((n) => n !== hostCap)
      .map((n) => ({
        state: assembleNetns(manifest.node, n),
        ips: n.manifest.ips ?? [],
        ...(n.manifest.pod ? { pod: n.manifest.pod } : {}),
      })),
  };
}

/** What the snapshots know of the cluster: pods (from their manifests) and node addresses (their uplinks'). */
export function clusterFactsFromNodes(nodes: readonly NodeState[]): ClusterFacts {
  const pods: PodFact[] = [];
  for (const n of nodes) {
    for (const p of n.pods) {
      if (p.pod) pods.push({ ...p.pod, ips: p.ips, node: n.node });
    }
  }
  return {
    pods,
    nodes: nodes.map((n) => ({ name: n.node, addresses: nodeAddresses(n), podCIDRs: [] })),
    services: [],
  };
}

/**
 * nftables rulesets as `nft -j list ruleset` prints them (libnftables JSON schema, nft 0.9.1+).
 * Rule expressions are kept in their JSON form (the engine interprets the statements it knows);
 * each rule also carries `text`, the rule rendered in nft syntax for evidence.
 */
import type { Json, JsonObject } from "./json.js";

export type NftFamily = "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev";

export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  handle: number;
  /** 1-based position in the chain. */
  index: number;
  expr: JsonObject[];
  comment?: string;
  /** The rule in nft syntax, e.g. `ip daddr 172.30.0.41 tcp dport 80 goto service-ULMVA6XW-ns1/svc1/tcp/p80`. */
  text: string;
}

export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  handle: number;
  /** Base chains only. */
  type?: "filter" | "nat" | "route";
  hook?: "prerouting" | "input" | "forward" | "output" | "postrouting" | "ingress" | "egress";
  prio?: number;
  policy?: "accept" | "drop";
  rules: NftRule[];
}

export interface NftSetElement {
  /** The key, as JSON (a string/number, a `concat` array, a `prefix`/`range` object). */
  key: Json;
  /** For maps/vmaps: the value (a verdict object such as {"goto":{"target":"…"}}, an address, ...). */
  value?: Json;
  comment?: string;
}

export interface NftSet {
  family: NftFamily;
  table: string;
  name: string;
  handle: number;
  /** "set" or "map" (verdict maps are maps whose `map` is "verdict"). */
  kind: "set" | "map";
  /** Key type: "ipv4_addr", or a list for concatenations (["ipv4_addr","inet_proto","inet_service"]). */
  type: string | string[];
  /** Value type for maps ("verdict", "ipv4_addr", ...). */
  map?: string | string[];
  flags: string[];
  /** Default element timeout in seconds (`flags timeout; timeout 3h`), e.g. kube-proxy's affinity sets. */
  timeout?: number;
  elements: NftSetElement[];
  comment?: string;
}

export interface NftTable {
  family: NftFamily;
  name: string;
  handle: number;
  comment?: string;
  chains: Map<string, NftChain>;
  sets: Map<string, NftSet>;
  /**
   * Where a chain's rules or a set came from, for evidence; `nft -j list ruleset` when absent. A
   * table read object by object over netlink names that request instead.
   */
  evidenceSource?(object: { chain: string } | { set: string }): string;
}

export interface NftRuleset {
  /** nftables version from the metainfo object. */
  version?: string;
  tables: NftTable[];
}

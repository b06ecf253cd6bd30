/**
 * The kernel sources a probe captures, one per command. Collectors run exactly these commands
 * (inside the netns being read) and store their output under `file`; snapshot readers and the
 * parsers name the same source in errors and evidence. One table, so the two never drift.
 */

export type SourceName =
  | "ip-link"
  | "ip-addr"
  | "ip-route"
  | "ip-rule"
  | "ip-neigh"
  | "bridge-fdb"
  | "bridge-link"
  | "netns-ids"
  | "sysctl"
  | "iptables-save"
  | "nft-ruleset"
  | "ipvsadm"
  | "ipset";

export interface SourceSpec {
  name: SourceName;
  /** File name inside a netns directory of a snapshot. */
  file: string;
  /** argv, run inside the netns (`ip netns exec` / setns). */
  argv: readonly string[];
  /** Which netns kinds need it. Pod netns need only their own wiring. */
  scope: "all" | "host";
  /** Absent tools (ipvsadm on a node without IPVS) are recorded as absent, not as failure. */
  optional: boolean;
}

export const SOURCES: readonly SourceSpec[] = [
  {
    name: "ip-link",
    file: "ip-link.json",
    argv: ["ip", "-j", "-d", "link", "show"],
    scope: "all",
    optional: false,
  },
  {
    name: "ip-addr",
    file: "ip-addr.json",
    argv: ["ip", "-j", "addr", "show"],
    scope: "all",
    optional: false,
  },
  {
    name: "ip-route",
    file: "ip-route.json",
    argv: ["ip", "-j", "route", "show", "table", "all"],
    scope: "all",
    optional: false,
  },
  {
    name: "ip-rule",
    file: "ip-rule.json",
    argv: ["ip", "-j", "rule", "show"],
    scope: "all",
    optional: false,
  },
  {
    name: "ip-neigh",
    file: "ip-neigh.json",
    argv: ["ip", "-j", "neigh", "show"],
    scope: "all",
    optional: false,
  },
  {
    name: "bridge-fdb",
    file: "bridge-fdb.json",
    argv: ["bridge", "-j", "fdb", "show"],
    scope: "host",
    optional: false,
  },
  {
    name: "bridge-link",
    file: "bridge-link.json",
    argv: ["bridge", "-j", "link", "show"],
    scope: "host",
    optional: false,
  },
  {
    name: "netns-ids",
    file: "netns-ids.json",
    argv: ["ip", "-j", "netns", "list-id"],
    scope: "all",
    optional: false,
  },
  {
    name: "sysctl",
    file: "sysctl.txt",
    argv: ["sysctl", "-a", "-r", "^net\\.(ipv4|bridge)\\."],
    scope: "all",
    optional: false,
  },
  {
    // In pod netns too: sidecar meshes (Istio, Linkerd) and Docker's embedded DNS put their
    // redirects there, and a trace crosses them.
    name: "iptables-save",
    file: "iptables-save.txt",
    argv: ["iptables-save", "-c"],
    scope: "all",
    optional: true,
  },
  {
    // The collector assembles this from `nft -j list chains` and one `nft -j list table`
    // per table that is not iptables-nft's (CapturedSource.commands); argv is what it stands for.
    name: "nft-ruleset",
    file: "nft-ruleset.json",
    argv: ["nft", "-j", "list", "ruleset"],
    scope: "host",
    optional: true,
  },
  { name: "ipvsadm", file: "ipvsadm.txt", argv: ["ipvsadm", "-S", "-n"], scope: "host", optional: true },
  { name: "ipset", file: "ipset.txt", argv: ["ipset", "save"], scope: "host", optional: true },
];

export function sourceSpec(name: SourceName): SourceSpec {
  const spec = SOURCES.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown capture source ${name}`);
  return spec;
}

/** The command line a person would type to see the same source by hand. */
export function sourceCommand(name: SourceName): string {
  return sourceSpec(name).argv.join(" ");
}

/** The same command without `-j`: what printed a text capture of the source (`ip route show table all`). */
export function textSourceCommand(name: SourceName): string {
  return sourceSpec(name)
    .argv.filter((a) => a !== "-j")
    .join(" ");
}

/** Evidence lines in the tools' own words, built from the model with the iproute2 formatters. */
import { sourceCommand } from "../capture/sources.js";
import type { Address } from "../model/addr.js";
import type { FdbEntry } from "../model/fdb.js";
import type { Link } from "../model/link.js";
import type { Neighbour } from "../model/neigh.js";
import type { PolicyRule, Route } from "../model/route.js";
import type { Evidence } from "../model/trace.js";
import {
  formatAddress,
  formatFdb,
  formatLink,
  formatNeighbour,
  formatPolicyRule,
  formatRoute,
} from "../parsers/iproute/index.js";

export const ev = {
  link: (l: Link): Evidence => ({ source: sourceCommand("ip-link"), text: formatLink(l) }),
  address: (a: Address): Evidence => ({ source: sourceCommand("ip-addr"), text: formatAddress(a) }),
  route: (r: Route): Evidence => ({ source: sourceCommand("ip-route"), text: formatRoute(r) }),
  rule: (r: PolicyRule): Evidence => ({ source: sourceCommand("ip-rule"), text: formatPolicyRule(r) }),
  neighbour: (n: Neighbour): Evidence => ({ source: sourceCommand("ip-neigh"), text: formatNeighbour(n) }),
  fdb: (f: FdbEntry): Evidence => ({ source: sourceCommand("bridge-fdb"), text: formatFdb(f) }),
  sysctl: (key: string, value: string | undefined): Evidence => ({
    source: sourceCommand("sysctl"),
    text: `${key} = ${value ?? "(not captured)"}`,
  }),
};

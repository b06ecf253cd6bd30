/** Building model Links from what either form of `ip -d link` said; shared by the JSON and text parsers. */
import type {
  BridgeLink,
  BridgePortState,
  GeneveLink,
  IpipLink,
  Link,
  LinkKind,
  OperState,
  TunnelInfo,
  VethLink,
  VxlanLink,
} from "../../model/link.js";

/** Everything a Link has besides its kind and kind-specific data. */
export type LinkCommon = Omit<VethLink, "kind">;

/** Kind-specific details, collected before the kind is known to be modelled. */
export interface KindDetails {
  bridge?: BridgeLink["bridge"];
  vxlan?: VxlanLink["vxlan"];
  geneve?: GeneveLink["geneve"];
  ipip?: IpipLink["ipip"];
}

export const OPER_STATES: readonly OperState[] = [
  "UP",
  "DOWN",
  "UNKNOWN",
  "LOWERLAYERDOWN",
  "DORMANT",
  "NOTPRESENT",
  "TESTING",
];

export const BRIDGE_PORT_STATES: readonly BridgePortState[] = [
  "disabled",
  "listening",
  "learning",
  "forwarding",
  "blocking",
];

export function isOperState(s: string): s is OperState {
  return (OPER_STATES as readonly string[]).includes(s);
}

export function isBridgePortState(s: string): s is BridgePortState {
  return (BRIDGE_PORT_STATES as readonly string[]).includes(s);
}

/** linkinfo.info_kind (and link_type) → the model's kind union. */
export function kindOf(infoKind: string | undefined, linkType: string | undefined): LinkKind {
  if (linkType === "loopback") return "loopback";
  switch (infoKind) {
    case undefined:
    case "":
      return "device";
    case "veth":
    case "bridge":
    case "vxlan":
    case "geneve":
    case "ipip":
    case "dummy":
      return infoKind;
    default:
      return "other";
  }
}

/** An empty tunnel description; parsers fill it in. */
export function emptyTunnel(): TunnelInfo {
  return { dstport: 0, external: false };
}

/** Assemble a Link of the right variant. */
export function buildLink(common: LinkCommon, details: KindDetails, linkType: string | undefined): Link {
  const kind = kindOf(common.infoKind, linkType);
  switch (kind) {
    case "bridge":
      return { ...common, kind, bridge: details.bridge ?? {} };
    case "vxlan":
      return { ...common, kind, vxlan: details.vxlan ?? { ...emptyTunnel(), learning: true } };
    case "geneve":
      return { ...common, kind, geneve: details.geneve ?? emptyTunnel() };
    case "ipip":
      return { ...common, kind, ipip: details.ipip ?? {} };
    case "veth":
    case "dummy":
    case "device":
    case "other":
    case "loopback":
      return { ...common, kind };
  }
}

/**
 * Resolve lower-device names (`name@eth0`, JSON "link": "eth0", vxlan `dev eth0`) to ifindexes of the
 * same netns, when that device is in the same output.
 */
export function resolveNames(links: Link[], lowerNames: Map<Link, string>): void {
  const byName = new Map(links.map((l) => [l.name, l.ifindex]));
  for (const [link, name] of lowerNames) {
    const idx = byName.get(name);
    if (idx !== undefined && link.linkIfindex === undefined) link.linkIfindex = idx;
  }
  for (const l of links) {
    const t = l.kind === "vxlan" ? l.vxlan : l.kind === "geneve" ? l.geneve : undefined;
    if (t?.underlayDev !== undefined && t.underlayIfindex === undefined) {
      const idx = byName.get(t.underlayDev);
      if (idx !== undefined) t.underlayIfindex = idx;
    }
  }
}

/**
 * kube-proxy's nftables mode (`--proxy-mode=nftables`), written the way kube-proxy writes its
 * transaction (pkg/proxy/nftables/proxier.go, knftables syntax for `nft -f`): `table ip kube-proxy`
 * with the cluster-ips / nodeport-ips sets, the service-ips / service-nodeports / no-endpoint-*
 * verdict maps, one service-<hash>-ns/name/proto/port chain per Service port choosing an endpoint
 * with `numgen random mod N vmap`, one endpoint-<hash>-…__ip/port chain per endpoint with its dnat,
 * mark-for-masquerade / masquerading, reject-chain, and affinity sets. The shape (and every line)
 * is checked against kube-proxy's own golden transaction (TestOverallNFTablesRules).
 */
import { nftChains } from "./hash.js";
import { type ProxyOptions, type Service, type ServicePortView, servicePortViews } from "./model.js";

export interface NftOptions extends ProxyOptions {
  /** The service CIDR: traffic to an unallocated ClusterIP in it is dropped. */
  serviceCIDR: string;
  /** This node's addresses that accept NodePort traffic (--nodeport-addresses). */
  nodePortIPs: readonly string[];
}

const T = "ip kube-proxy";

/** The fixed part of every kube-proxy transaction (the golden's `baseRules`). */
function baseRules(opts: NftOptions): string[] {
  return [
    `add table ${T} { comment "rules for kube-proxy" ; }`,
    "",
    `add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    "",
    `add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    "",
    `add chain ${T} cluster-ips-check`,
    `add chain ${T} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${T} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${T} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${T} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${T} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${T} firewall-check`,
    `add chain ${T} mark-for-masquerade`,
    `add chain ${T} masquerading`,
    `add chain ${T} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${T} nodeport-endpoints-check`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${T} services`,
    `add chain ${T} service-endpoints-check`,
    "",
    `add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${T} cluster-ips-check ip daddr { ${opts.serviceCIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add rule ${T} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${T} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${T} filter-input ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-output ct state new jump cluster-ips-check`,
    `add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${T} mark-for-masquerade mark set mark or 0x4000`,
    `add rule ${T} masquerading mark and 0x4000 == 0 return`,
    `add rule ${T} masquerading mark set mark xor 0x4000`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add rule ${T} nat-output jump services`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add rule ${T} nat-prerouting jump services`,
    `add rule ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${T} reject-chain reject`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    "",
    ...opts.nodePortIPs.map((ip) => `add element ${T} nodeport-ips { ${ip} }`),
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  ];
}

/** The chain names of one Service port. */
export function nftServiceChains(v: ServicePortView): {
  service: string;
  external: string;
  endpoints: Array<{ ip: string; address: string; chain: string; affinity: string }>;
} {
  const { namespace, name } = v.service;
  const base = nftChains.serviceBase(namespace, name, v.protocol, v.port.name);
  return {
    service: `service-${base}`,
    external: `external-${base}`,
    endpoints: v.endpoints.map((e) => {
      const eb = nftChains.endpointBase(namespace, name, v.protocol, v.port.name, e.address);
      return { ...e, chain: `endpoint-${eb}`, affinity: `affinity-${eb}` };
    }),
  };
}

function servicePort(v: ServicePortView, opts: NftOptions): string[] {
  const { clusterIP } = v.service;
  const { port, nodePort } = v.port;
  const p = v.protocol;
  const out: string[] = [];
  if (v.endpoints.length === 0) {
    out.push(`add element ${T} cluster-ips { ${clusterIP} }`);
    out.push(
      `add element ${T} no-endpoint-services { ${clusterIP} . ${p} . ${port} comment "${v.portName}" : goto reject-chain }`,
    );
    if (nodePort !== undefined) {
      out.push(
        `add element ${T} no-endpoint-nodeports { ${p} . ${nodePort} comment "${v.portName}" : goto reject-chain }`,
      );
    }
    return out;
  }
  const c = nftServiceChains(v);
  const affinity = v.service.sessionAffinity;
  if (affinity) {
    for (const e of c.endpoints) {
      out.push(
        `add set ${T} ${e.affinity} { type ipv4_addr ; flags dynamic,timeout ; timeout ${affinity.timeoutSeconds}s ; }`,
      );
    }
  }
  out.push(`add chain ${T} ${c.service}`);
  out.push(
    `add rule ${T} ${c.service} ip daddr ${clusterIP} ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade`,
  );
  if (affinity) {
    for (const e of c.endpoints)
      out.push(`add rule ${T} ${c.service} ip saddr @${e.affinity} goto ${e.chain}`);
  }
  const branches = c.endpoints.map((e, i) => `${i} : goto ${e.chain}`).join(" , ");
  out.push(`add rule ${T} ${c.service} numgen random mod ${c.endpoints.length} vmap { ${branches} }`);
  if (nodePort !== undefined) {
    out.push(`add chain ${T} ${c.external}`);
    out.push(`add rule ${T} ${c.external} jump mark-for-masquerade`);
    out.push(`add rule ${T} ${c.external} goto ${c.service}`);
  }
  for (const e of c.endpoints) {
    out.push(`add chain ${T} ${e.chain}`);
    out.push(`add rule ${T} ${e.chain} ip saddr ${e.ip} jump mark-for-masquerade`);
    if (affinity) out.push(`add rule ${T} ${e.chain} update @${e.affinity} { ip saddr }`);
    out.push(`add rule ${T} ${e.chain} meta l4proto ${p} dnat to ${e.address}`);
  }
  out.push(`add element ${T} cluster-ips { ${clusterIP} }`);
  out.push(`add element ${T} service-ips { ${clusterIP} . ${p} . ${port} : goto ${c.service} }`);
  if (nodePort !== undefined) {
    out.push(`add element ${T} service-nodeports { ${p} . ${nodePort} : goto ${c.external} }`);
  }
  return out;
}

/**
 * The `nft -f` transaction of one kube-proxy sync on a node. Within each Service the chains are
 * added before the rules that jump to them (vmap `goto` needs the chain to exist), as kube-proxy's
 * transaction does.
 */
export function nftRuleset(services: readonly Service[], opts: NftOptions): string {
  const lines = [...baseRules(opts)];
  for (const v of servicePortViews(services)) {
    lines.push("", ...reorderChainsFirst(servicePort(v, opts)));
  }
  return `${lines.join("\n")}\n`;
}

/** `add set` / `add chain` lines first (in order), then the rest: nft resolves gotos at load time. */
function reorderChainsFirst(lines: readonly string[]): string[] {
  const decl = lines.filter((l) => /^add (set|chain) /.test(l));
  return [...decl, ...lines.filter((l) => !decl.includes(l))];
}

/**
 * kube-proxy's iptables mode, written the way kube-proxy (1.28+) writes it: the `iptables-restore`
 * input of one sync (filter + nat), and the jumps from the built-in chains that kube-proxy installs
 * separately (`iptables -I`, not part of the restore input). Rule texts, their argument order,
 * comments (quoted only when they contain blanks, as kube-proxy writes them) and the probability
 * formatting (`%0.10f` of 1/(n−i)) follow pkg/proxy/iptables/proxier.go; the test compares them
 * with kube-proxy's own golden output (TestOverallIPTablesRules).
 */
import { iptablesChains } from "./hash.js";
import { type ProxyOptions, type Service, type ServicePortView, servicePortViews } from "./model.js";

export interface IptablesOptions extends ProxyOptions {
  /** MASQUERADE --random-fully (iptables ≥ 1.6.2 and a kernel that has it). Default true. */
  randomFully?: boolean;
  /** nfacct counters (kube-proxy ≥ 1.29 uses them when the kernel has nfacct). Default false. */
  nfacct?: boolean;
  /** --iptables-localhost-nodeports (default true): KUBE-FIREWALL's localnet rule. */
  localhostNodePorts?: boolean;
}

/** Go's fmt.Sprintf("%0.10f", p). */
export function probability(p: number): string {
  return p.toFixed(10);
}

/** Blank-containing comments are written with their quotes, as kube-proxy does (`"%s cluster IP"`). */
function comment(text: string): string {
  return text.includes(" ") ? `"${text}"` : text;
}

interface Tables {
  filterChains: string[];
  natChains: string[];
  filter: Map<string, string[]>;
  nat: Map<string, string[]>;
}

function rule(rules: Map<string, string[]>, chain: string, text: string): void {
  const list = rules.get(chain);
  if (list) list.push(`-A ${chain} ${text}`);
  else rules.set(chain, [`-A ${chain} ${text}`]);
}

function writeServicePort(t: Tables, v: ServicePortView, opts: IptablesOptions): void {
  const { portName, protocol, port, service } = { ...v, port: v.port.port };
  const svcChain = iptablesChains.svc(portName, protocol);
  const extChain = iptablesChains.ext(portName, protocol);
  const proto = `-m ${protocol} -p ${protocol}`;
  const nodePort = v.port.nodePort;
  if (v.endpoints.length === 0) {
    rule(
      t.filter,
      "KUBE-SERVICES",
      `-m comment --comment ${comment(`${portName} has no endpoints`)} ${proto} -d ${service.clusterIP} --dport ${port} -j REJECT`,
    );
    if (nodePort !== undefined) {
      rule(
        t.filter,
        "KUBE-EXTERNAL-SERVICES",
        `-m comment --comment ${comment(`${portName} has no endpoints`)} -m addrtype --dst-type LOCAL ${proto} --dport ${nodePort} -j REJECT`,
      );
    }
    return;
  }
  t.natChains.push(svcChain);
  rule(
    t.nat,
    "KUBE-SERVICES",
    `-m comment --comment ${comment(`${portName} cluster IP`)} ${proto} -d ${service.clusterIP} --dport ${port} -j ${svcChain}`,
  );
  if (nodePort !== undefined) {
    t.natChains.push(extChain);
    if (opts.nfacct && opts.localhostNodePorts !== false) {
      rule(
        t.nat,
        "KUBE-NODEPORTS",
        `-m comment --comment ${comment(portName)} ${proto} -d 127.0.0.0/8 --dport ${nodePort} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ${extChain}`,
      );
    }
    rule(
      t.nat,
      "KUBE-NODEPORTS",
      `-m comment --comment ${comment(portName)} ${proto} --dport ${nodePort} -j ${extChain}`,
    );
    rule(
      t.nat,
      extChain,
      `-m comment --comment ${comment(`masquerade traffic for ${portName} external destinations`)} -j KUBE-MARK-MASQ`,
    );
    rule(t.nat, extChain, `-j ${svcChain}`);
  }
  rule(
    t.nat,
    svcChain,
    `-m comment --comment ${comment(`${portName} cluster IP`)} ${proto} -d ${service.clusterIP} --dport ${port} ! -s ${opts.clusterCIDR} -j KUBE-MARK-MASQ`,
  );
  const seps = v.endpoints.map((e) => ({ ...e, chain: iptablesChains.sep(portName, protocol, e.address) }));
  const affinity = service.sessionAffinity;
  if (affinity) {
    for (const e of seps) {
      rule(
        t.nat,
        svcChain,
        `-m comment --comment ${comment(`${portName} -> ${e.address}`)} -m recent --name ${e.chain} --rcheck --seconds ${affinity.timeoutSeconds} --reap -j ${e.chain}`,
      );
    }
  }
  seps.forEach((e, i) => {
    const stat =
      i < seps.length - 1
        ? ` -m statistic --mode random --probability ${probability(1 / (seps.length - i))}`
        : "";
    rule(
      t.nat,
      svcChain,
      `-m comment --comment ${comment(`${portName} -> ${e.address}`)}${stat} -j ${e.chain}`,
    );
  });
  for (const e of seps) {
    t.natChains.push(e.chain);
    rule(t.nat, e.chain, `-m comment --comment ${comment(portName)} -s ${e.ip} -j KUBE-MARK-MASQ`);
    const recent = affinity ? ` -m recent --name ${e.chain} --set` : "";
    rule(
      t.nat,
      e.chain,
      `-m comment --comment ${comment(portName)}${recent} ${proto} -j DNAT --to-destination ${e.address}`,
    );
  }
}

function staticRules(t: Tables, opts: IptablesOptions): void {
  if (opts.localhostNodePorts !== false) {
    rule(
      t.filter,
      "KUBE-FIREWALL",
      `-m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }
  const invalid = opts.nfacct ? " -m nfacct --nfacct-name ct_state_invalid_dropped_pkts" : "";
  rule(t.filter, "KUBE-FORWARD", `-m conntrack --ctstate INVALID${invalid} -j DROP`);
  rule(
    t.filter,
    "KUBE-FORWARD",
    `-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT`,
  );
  rule(
    t.filter,
    "KUBE-FORWARD",
    `-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  rule(
    t.nat,
    "KUBE-SERVICES",
    `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
  );
  rule(t.nat, "KUBE-MARK-MASQ", "-j MARK --or-mark 0x4000");
  rule(t.nat, "KUBE-POSTROUTING", "-m mark ! --mark 0x4000/0x4000 -j RETURN");
  rule(t.nat, "KUBE-POSTROUTING", "-j MARK --xor-mark 0x4000");
  rule(
    t.nat,
    "KUBE-POSTROUTING",
    `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully === false ? "" : " --random-fully"}`,
  );
}

/** Chain order of the restore input: kube-proxy's fixed chains first, then the rest sorted. */
function ordered(first: readonly string[], rest: readonly string[]): string[] {
  return [...first, ...[...new Set(rest)].filter((c) => !first.includes(c)).sort()];
}

function table(name: string, chains: readonly string[], rules: Map<string, string[]>): string[] {
  const out = [`*${name}`, ...chains.map((c) => `:${c} - [0:0]`)];
  for (const c of chains) out.push(...(rules.get(c) ?? []));
  out.push("COMMIT");
  return out;
}

/**
 * The `iptables-restore` input of one kube-proxy sync. Load with `iptables-restore --noflush`
 * (kube-proxy does the same: its own chains are declared, hence flushed and rewritten; the
 * built-in chains and other programs' chains are left alone).
 */
export function iptablesRestore(services: readonly Service[], opts: IptablesOptions): string {
  const t: Tables = {
    filterChains: [],
    natChains: [],
    filter: new Map(),
    nat: new Map(),
  };
  for (const v of servicePortViews(services)) writeServicePort(t, v, opts);
  // The nodeport jump stays the last rule of nat KUBE-SERVICES: written after the services.
  staticRules(t, opts);
  const filterFixed = [
    "KUBE-NODEPORTS",
    "KUBE-SERVICES",
    "KUBE-EXTERNAL-SERVICES",
    ...(opts.localhostNodePorts !== false ? ["KUBE-FIREWALL"] : []),
    "KUBE-FORWARD",
    "KUBE-PROXY-FIREWALL",
  ];
  const natFixed = ["KUBE-NODEPORTS", "KUBE-SERVICES"];
  const natChains = ordered(natFixed, [...t.natChains, "KUBE-MARK-MASQ", "KUBE-POSTROUTING"]);
  return `${[...table("filter", filterFixed, t.filter), ...table("nat", natChains, t.nat)].join("\n")}\n`;
}

/**
 * The jumps from the built-in chains, as kube-proxy ensures them (`iptables -I <chain>`, one by one,
 * so the last one ensured ends up first) and as `iptables-save` then lists them, in restore syntax
 * with explicit positions. KUBE-FIREWALL's jumps are appended (kube-proxy's "kubelet" jumps).
 */
export function iptablesBaseJumps(opts: Pick<IptablesOptions, "localhostNodePorts">): string {
  const newOnly = "-m conntrack --ctstate NEW";
  const filter = [
    `-I INPUT 1 ${newOnly} -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `-I INPUT 2 -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS`,
    `-I INPUT 3 ${newOnly} -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
    `-I FORWARD 1 ${newOnly} -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `-I FORWARD 2 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`,
    `-I FORWARD 3 ${newOnly} -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-I FORWARD 4 ${newOnly} -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
    `-I OUTPUT 1 ${newOnly} -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `-I OUTPUT 2 ${newOnly} -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    ...(opts.localhostNodePorts !== false ? ["-A INPUT -j KUBE-FIREWALL", "-A OUTPUT -j KUBE-FIREWALL"] : []),
  ];
  const nat = [
    `-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
  ];
  return `${["*filter", ...filter, "COMMIT", "*nat", ...nat, "COMMIT"].join("\n")}\n`;
}

/**
 * The sysctls that decide whether and how a node forwards, read from /proc/sys.
 * Keys are kept exactly as `sysctl` names them (net.ipv4.ip_forward,
 * net.ipv4.conf.<dev>.rp_filter, net.bridge.bridge-nf-call-iptables, ...).
 */
export type Sysctls = Record<string, string>;

/** The keys a trace needs; collectors read these (and per-device conf for devices on the path). */
export const FORWARDING_SYSCTLS = [
  "net.ipv4.ip_forward",
  "net.ipv4.conf.all.forwarding",
  "net.ipv4.conf.all.rp_filter",
  "net.ipv4.conf.default.rp_filter",
  "net.ipv4.conf.all.proxy_arp",
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
] as const;

export function sysctlNumber(sysctls: Sysctls, key: string): number | undefined {
  const v = sysctls[key];
  if (v === undefined) return undefined;
  const n = Number.parseInt(v.trim(), 10);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * Effective rp_filter of a device: the kernel uses max(conf.all.rp_filter, conf.<dev>.rp_filter).
 * 0 = off, 1 = strict, 2 = loose.
 */
export function effectiveRpFilter(sysctls: Sysctls, dev: string): number | undefined {
  const all = sysctlNumber(sysctls, "net.ipv4.conf.all.rp_filter");
  const perDev = sysctlNumber(sysctls, `net.ipv4.conf.${dev}.rp_filter`);
  if (all === undefined && perDev === undefined) return undefined;
  return Math.max(all ?? 0, perDev ?? 0);
}

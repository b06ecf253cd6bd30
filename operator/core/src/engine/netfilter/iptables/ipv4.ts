/** IPv4 helpers for iptables matches: addresses, CIDRs and dotted netmasks as iptables prints them. */

/** "10.244.1.5" → 32-bit unsigned number, or undefined if not a dotted quad. */
export function ipv4ToNumber(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function maskBits(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** A parsed `-s`/`-d` argument: "10.0.0.0/8", "10.1.2.3", "10.0.0.0/255.0.0.0". */
export interface Ipv4Prefix {
  network: number;
  mask: number;
}

/** Parse an iptables address argument; undefined if it is not IPv4 (a hostname, IPv6, a placeholder). */
export function parseIpv4Prefix(s: string): Ipv4Prefix | undefined {
  const [addr, len] = s.split("/", 2);
  const network = ipv4ToNumber(addr ?? "");
  if (network === undefined) return undefined;
  let mask = 0xffffffff;
  if (len !== undefined) {
    if (/^\d{1,2}$/.test(len) && Number(len) <= 32) mask = maskBits(Number(len));
    else {
      const m = ipv4ToNumber(len);
      if (m === undefined) return undefined;
      mask = m;
    }
  }
  return { network: (network & mask) >>> 0, mask };
}

/** Whether `addr` lies in `prefix`. */
export function inPrefix(addr: number, prefix: Ipv4Prefix): boolean {
  return (addr & prefix.mask) >>> 0 === prefix.network;
}

/** Whether `addr` lies in the inclusive range "a.b.c.d-e.f.g.h" (or equals a single address). */
export function inRange(addr: number, range: string): boolean | undefined {
  const [lo, hi] = range.split("-", 2);
  const a = ipv4ToNumber(lo ?? "");
  const b = hi === undefined ? a : ipv4ToNumber(hi);
  if (a === undefined || b === undefined) return undefined;
  return addr >= a && addr <= b;
}

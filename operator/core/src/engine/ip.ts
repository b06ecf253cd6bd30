/** IPv4/IPv6 addresses and prefixes as bigints, for longest-prefix matching. Pure. */

export interface Prefix {
  family: 4 | 6;
  /** Network address, already masked. */
  network: bigint;
  length: number;
}

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(s: string): bigint | undefined {
  const zone = s.indexOf("%");
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  // An embedded IPv4 tail (::ffff:10.0.0.1) counts as two groups.
  const expand = (gs: string[]): string[] | undefined => {
    const last = gs[gs.length - 1];
    if (last?.includes(".")) {
      const v4 = parseIpv4(last);
      if (v4 === undefined) return undefined;
      return [...gs.slice(0, -1), ((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16)];
    }
    return gs;
  };
  const h = expand(head);
  const t = expand(tail);
  if (!h || !t) return undefined;
  const missing = 8 - h.length - t.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...h, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...t];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return v;
}

/** Parses an address; undefined when it is not an IPv4 or IPv6 address. */
export function parseAddress(s: string): { family: 4 | 6; value: bigint } | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = s.includes(":") ? parseIpv6(s) : undefined;
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

export function isAddress(s: string): boolean {
  return parseAddress(s) !== undefined;
}

/** "10.244.1.0/24", "10.0.0.5" (host), "default"/"0.0.0.0/0", "::/0". */
export function parsePrefix(s: string): Prefix | undefined {
  if (s === "default") return { family: 4, network: 0n, length: 0 };
  const slash = s.indexOf("/");
  const addr = parseAddress(slash >= 0 ? s.slice(0, slash) : s);
  if (!addr) return undefined;
  const bits = addr.family === 4 ? 32 : 128;
  const length = slash >= 0 ? Number(s.slice(slash + 1)) : bits;
  if (!Number.isInteger(length) || length < 0 || length > bits) return undefined;
  return { family: addr.family, network: addr.value & mask(bits, length), length };
}

function mask(bits: number, length: number): bigint {
  if (length === 0) return 0n;
  const all = (1n << BigInt(bits)) - 1n;
  return (all >> BigInt(bits - length)) << BigInt(bits - length);
}

export function prefixContains(prefix: Prefix, address: string): boolean {
  const a = parseAddress(address);
  if (!a || a.family !== prefix.family) return false;
  const bits = a.family === 4 ? 32 : 128;
  return (a.value & mask(bits, prefix.length)) === prefix.network;
}

/** True when `address` is inside `cidr` ("10.244.0.0/16"); a bare address matches itself only. */
export function cidrContains(cidr: string, address: string): boolean {
  const p = parsePrefix(cidr);
  return p !== undefined && prefixContains(p, address);
}

export function addressFamily(s: string): 4 | 6 | undefined {
  return parseAddress(s)?.family;
}

export function sameAddress(a: string, b: string): boolean {
  const x = parseAddress(a);
  const y = parseAddress(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
}

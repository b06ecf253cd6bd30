/**
 * kube-proxy's chain names. iptables mode (pkg/proxy/iptables/proxier.go): portProtoHash =
 * base32(sha256(servicePortName + protocol))[:16], giving KUBE-SVC-/KUBE-EXT-/KUBE-SVL-/KUBE-FW-
 * <hash>; endpoint chains hash servicePortName + protocol + "ip:port" (KUBE-SEP-<hash>). The
 * protocol is lower case ("tcp"): that is what reproduces the chain names of kube-proxy's own
 * golden test (ns1/svc1:p80 → KUBE-SVC-XPGD46QRK7WJZT7O). nftables mode
 * (pkg/proxy/nftables/proxier.go, hashAndTruncate): base32(sha256(name))[:8] + "-" + name, cut to
 * 240 characters with "...".
 */
import { createHash } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 with padding, as Go's base32.StdEncoding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += "=";
  return out;
}

function sha256Base32(s: string): string {
  return base32(createHash("sha256").update(s, "utf8").digest());
}

/** portProtoHash(servicePortName, protocol). */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return sha256Base32(servicePortName + protocol).slice(0, 16);
}

export const iptablesChains = {
  svc: (portName: string, protocol: string) => `KUBE-SVC-${portProtoHash(portName, protocol)}`,
  ext: (portName: string, protocol: string) => `KUBE-EXT-${portProtoHash(portName, protocol)}`,
  sep: (portName: string, protocol: string, endpoint: string) =>
    `KUBE-SEP-${sha256Base32(portName + protocol + endpoint).slice(0, 16)}`,
};

/** knftables.NameLengthMax (256) minus the longest chain prefix kube-proxy uses (16). */
const CHAIN_NAME_BASE_LENGTH_MAX = 240;

export function hashAndTruncate(name: string): string {
  const full = `${sha256Base32(name).slice(0, 8)}-${name}`;
  return full.length > CHAIN_NAME_BASE_LENGTH_MAX
    ? `${full.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`
    : full;
}

/** "ns/name/tcp/port" and "ns/name/tcp/port__ip/port", hashed: the bases of nft chain names. */
export const nftChains = {
  serviceBase: (ns: string, name: string, protocol: string, portName: string) =>
    hashAndTruncate(`${ns}/${name}/${protocol}/${portName}`),
  endpointBase: (ns: string, name: string, protocol: string, portName: string, endpoint: string) => {
    const i = endpoint.lastIndexOf(":");
    const ip = endpoint.slice(0, i).replaceAll(":", ".");
    return hashAndTruncate(`${ns}/${name}/${protocol}/${portName}__${ip}/${endpoint.slice(i + 1)}`);
  },
};

/**
 * The same trace read two ways differs only in where each rule came from: the probe reads iptables
 * chain by chain (`iptables -S CHAIN -v`, `-A … -c p b`) and nft over netlink, a snapshot reads
 * `iptables-save -c` (`[p:b] -A …`) and `nft -j`: the same rule, printed two ways, with line numbers
 * of their own listings. `comparable` turns each evidence line into the rule itself, without its
 * counters; everything else must be equal.
 */
export function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (typeof o.source === "string" && typeof o.text === "string" && /^iptables/.test(o.source))
    return o.text.replace(/^\[\d+:\d+\] /, "").replace(/ -c \d+ \d+/, "");
  // nft evidence names the netlink request or the nft listing it came from; the rule text is the same.
  if (typeof o.source === "string" && typeof o.text === "string" && /^(nft |netlink )/.test(o.source))
    return o.text;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, comparable(v)]));
}

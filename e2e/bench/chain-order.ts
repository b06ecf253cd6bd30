/**
 * kube-proxy creates its chains in Go map order (it ranges over its service map), so a real node's
 * kernel holds them in no particular order. The canonical generator (e2e/kube-proxy/) declares
 * them sorted, the order of kube-proxy's golden files. For the bench the kernel's order matters:
 * iptables-nft-save 1.8.9 dumps 60k chains created in sorted order in ~30 s instead of ~2 s (its
 * chain cache insertion is quadratic in that case). So the bench declares the nat chains in a fixed
 * pseudo-random order, as a real node would have them. Rules are untouched: `-A` lines name their
 * chain, and the order of rules within each chain stays kube-proxy's.
 */

/** Reorders the `:CHAIN` declarations of the `*nat` table with a seeded shuffle (deterministic). */
export function shuffleNatChainDeclarations(restore: string, seed = 1): string {
  const lines = restore.split("\n");
  const start = lines.indexOf("*nat");
  if (start < 0) return restore;
  let end = start + 1;
  while (end < lines.length && (lines[end] as string).startsWith(":")) end++;
  const decl = lines.slice(start + 1, end);
  let s = seed >>> 0 || 1;
  const rand = (): number => {
    // xorshift32: enough to spread 60k names, and the same ruleset every run.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
  for (let i = decl.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = decl[i] as string;
    decl[i] = decl[j] as string;
    decl[j] = t;
  }
  return [...lines.slice(0, start + 1), ...decl, ...lines.slice(end)].join("\n");
}

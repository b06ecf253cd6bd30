/** "Did you mean": the closest candidates to a misspelt name, by edit distance. */

/** Levenshtein distance between two strings (case-sensitive). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/**
 * Up to `limit` candidates closest to `input`: substring matches first, then by edit distance,
 * keeping only those within about half the input's length (so "pod-z" suggests "pod-a", not "kube-dns").
 */
export function closestMatches(input: string, candidates: Iterable<string>, limit = 3): string[] {
  const needle = input.toLowerCase();
  const scored: { c: string; score: number }[] = [];
  for (const c of new Set(candidates)) {
    const hay = c.toLowerCase();
    const d = editDistance(needle, hay);
    const contains = hay.includes(needle) || needle.includes(hay);
    const maxD = Math.max(2, Math.ceil(needle.length / 2));
    if (contains || d <= maxD) scored.push({ c, score: contains ? d - 100 : d });
  }
  return scored
    .sort((x, y) => x.score - y.score || x.c.localeCompare(y.c))
    .slice(0, limit)
    .map((s) => s.c);
}

/** " (did you mean a, b?)" or "" when there is nothing close. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const m = closestMatches(input, candidates);
  return m.length > 0 ? `did you mean ${m.join(", ")}?` : "";
}

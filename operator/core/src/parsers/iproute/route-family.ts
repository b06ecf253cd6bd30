/**
 * The family of each route of one `ip route show table all` dump. Address-less routes
 * (`unreachable default dev lo …`, `blackhole default`, `default dev ppp0`) name no family; the dump
 * does. The kernel answers a dump of all families family by family, AF_INET before AF_INET6, so a
 * route belongs to the section it is printed in. A section starts with a route whose addresses
 * name its family, or that carries an attribute iproute2 prints for IPv6 routes only: `pref`
 * (RTA_PREF) and, outside a `cache` line, `error`/`expires` (RTA_CACHEINFO, which IPv4 FIB routes
 * do not carry).
 */

/** What one route of the dump says about its family by itself. */
export interface FamilyEvidence {
  /** The family its destination, source or gateway addresses are in. */
  own?: 4 | 6;
  /** It carries an attribute only IPv6 routes have. */
  ipv6Only: boolean;
}

/**
 * The family of each route, in dump order. With `dumpFamily` (`ip -4 route …`, `ip -6 route …`)
 * every route is of that family; the caller rejects a route whose own addresses disagree.
 */
export function dumpFamilies(routes: readonly FamilyEvidence[], dumpFamily?: 4 | 6): (4 | 6)[] {
  if (dumpFamily !== undefined) return routes.map(() => dumpFamily);
  let section: 4 | 6 = 4;
  return routes.map((r) => {
    if (r.own !== undefined) section = r.own;
    else if (r.ipv6Only) section = 6;
    return section;
  });
}

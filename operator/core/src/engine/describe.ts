/** One-line descriptions of kernel objects for hop summaries. */
import type { Route } from "../model/route.js";

/** The output device of a route (the first next hop's, for ECMP routes). */
export function routeOutDev(route: Route): string | undefined {
  return route.dev ?? route.nexthops?.[0]?.dev;
}

export function describeRoute(route: Route, dst: string): string {
  const dev = routeOutDev(route);
  const via = route.gateway ?? route.nexthops?.[0]?.gateway;
  const table = route.table === "main" ? "" : ` (table ${route.table})`;
  const ecmp =
    route.nexthops && route.nexthops.length > 1
      ? `, ${route.nexthops.length}-way ECMP (first next hop shown)`
      : "";
  const onlink = route.flags.includes("onlink") ? " onlink" : "";
  if (via) return `${dst} matches ${route.dst}${table}: via ${via} dev ${dev ?? "?"}${onlink}${ecmp}`;
  return `${dst} matches ${route.dst}${table}: directly connected on ${dev ?? "?"}${ecmp}`;
}

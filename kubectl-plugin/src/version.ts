/** kubectl-netmap's version, from its package.json (or injected by the single-file bundle). */
import { readFileSync } from "node:fs";

declare global {
  /** Set by scripts/bundle.mjs in the single-file build, where package.json is not beside us. */
  var __NETMAP_PLUGIN_VERSION__: string | undefined;
}

/** The plugin's version string, e.g. "0.1.0". */
export function pluginVersion(): string {
  if (globalThis.__NETMAP_PLUGIN_VERSION__) return globalThis.__NETMAP_PLUGIN_VERSION__;
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    if (pkg && typeof pkg === "object" && "version" in pkg && typeof pkg.version === "string")
      return pkg.version;
  } catch {
    // fall through
  }
  return "unknown";
}

/**
 * The environment the probe runs node tools with. `ip`, `bridge`, `iptables-save`, `nft` and
 * `sysctl` live in sbin directories (/usr/sbin on Debian), which a non-login shell, `sudo` with a
 * trimmed secure_path, cron or a container's PATH often leave out: the search path always ends with
 * the usual system directories, after the caller's own.
 */

/** The directories a tool is looked up in after the caller's PATH, as a root login shell has them. */
export const SYSTEM_TOOL_DIRS: readonly string[] = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

/** `path` (a PATH value, maybe empty or undefined) followed by the system directories it lacks. */
export function toolSearchPath(path: string | undefined): string {
  const own = (path ?? "").split(":").filter((d) => d !== "");
  return [...own, ...SYSTEM_TOOL_DIRS.filter((d) => !own.includes(d))].join(":");
}

/** The child environment for a node tool: the caller's, with the full search path and the C locale. */
export function toolEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: toolSearchPath(env.PATH), LC_ALL: "C" };
}

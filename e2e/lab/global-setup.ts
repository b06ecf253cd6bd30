/**
 * Vitest global setup of the `lab` project: the lab's Debian packages (iproute2, iptables,
 * nftables, ipset, conntrack, the CNI plugins, socat, tmux, …) through install-deps.sh, which
 * installs only what is missing and says what it did. So the README's `npm test`, as root, works on
 * a fresh machine, as `npm run demo` does. Without root it installs nothing: the lab tests then say
 * they need root.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./install-deps.sh", import.meta.url));

export default function setup(): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write("[lab] not root: the lab's packages are not checked (the lab tests need root)\n");
    return;
  }
  const t0 = Date.now();
  process.stderr.write(`[lab] checking the lab's packages (${SCRIPT})\n`);
  // The script's own lines ("all lab dependencies present" / "installing …" and apt's output) go to stderr.
  const r = spawnSync("bash", [SCRIPT], { stdio: ["ignore", 2, 2], timeout: 15 * 60_000 });
  if (r.status !== 0) {
    throw new Error(
      `[lab] ${SCRIPT} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): the lab tests need its packages; run it by hand as root to see why`,
    );
  }
  process.stderr.write(`[lab] packages ready in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
}

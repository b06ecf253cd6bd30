/**
 * The Go-built binaries the harness runs: `e2e/infra/go-tools.sh` builds (or finds in
 * $NETMAP_CACHE/bin) the pinned kube-apiserver, kubectl and etcd and prints their paths.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execOk } from "./exec.js";

export type ToolName =
  | "kube-apiserver"
  | "kubectl"
  | "etcd"
  | "helm"
  | "kubelet"
  | "kubeadm"
  | "kube-proxy"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kind";

export type ToolPaths = Partial<Record<ToolName, string>>;

/** What a control plane needs. */
export const CONTROL_PLANE_TOOLS: readonly ToolName[] = ["kube-apiserver", "kubectl", "etcd"];

/** The cold build of the control-plane set takes ~8 min on 2 cores; a cached one is instant. */
const BUILD_TIMEOUT_MS = 60 * 60_000;

/** The repository's root: the first parent of this module that holds e2e/infra/go-tools.sh. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "e2e", "infra", "go-tools.sh"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find e2e/infra/go-tools.sh above the control-plane harness");
    dir = parent;
  }
}

export function goToolsScript(): string {
  return join(repoRoot(), "e2e", "infra", "go-tools.sh");
}

/** Parses go-tools.sh's stdout: one `<tool> <absolute path>` per line. */
export function parseToolLines(stdout: string): ToolPaths {
  const paths: ToolPaths = {};
  for (const line of stdout.split("\n")) {
    const m = /^(\S+) (\/\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) paths[m[1] as ToolName] = m[2];
  }
  return paths;
}

/**
 * Builds what is missing or stale and returns the tools' paths. Its progress (the cold build's
 * `[go-tools] building …` lines) goes to stderr.
 */
export async function ensureTools(
  names: readonly ToolName[] = CONTROL_PLANE_TOOLS,
): Promise<Record<string, string>> {
  const stdout = await execOk(["bash", goToolsScript(), ...names], {
    timeoutMs: BUILD_TIMEOUT_MS,
    passStderr: true,
  });
  const paths = parseToolLines(stdout);
  const out: Record<string, string> = {};
  for (const name of names) {
    const p = paths[name];
    if (!p || !existsSync(p)) {
      throw new Error(
        `go-tools.sh did not report a binary for ${name}; run e2e/infra/go-tools.sh ${name} and read its log`,
      );
    }
    out[name] = p;
  }
  return out;
}

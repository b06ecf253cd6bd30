/**
 * Capture the SOURCES of one netns: run each command inside it, keep stdout, and record in the
 * manifest what was run and how it ended. Read-only: every source is a show/list/save command.
 */
import type { CapturedSource, NetnsCapture, NetnsManifest, SourceName, SourceSpec } from "@netmap/core";
import { SOURCES } from "@netmap/core";
import { type NetnsExecOptions, netnsExec } from "./netns-exec.js";
import { toolSearchPath } from "./tool-env.js";

/** A required source failed: names the node, the netns and the exact command. */
export class CollectError extends Error {
  constructor(
    message: string,
    /** What the user can do about it. */
    readonly hint: string,
  ) {
    super(`${message}\n  hint: ${hint}`);
    this.name = "CollectError";
  }
}

/** The sources of a scope: the host gets every source, a pod netns only the "all" ones. */
export function sourcesFor(kind: "host" | "pod", only?: readonly SourceName[]): SourceSpec[] {
  return SOURCES.filter(
    (s) => (kind === "host" || s.scope === "all") && (only === undefined || only.includes(s.name)),
  );
}

/** Runs one source in `netnsPath` and returns its manifest record plus stdout when ok. */
export async function captureSource(
  node: string,
  netnsLabel: string,
  netnsPath: string,
  spec: SourceSpec,
  execOpts?: NetnsExecOptions,
): Promise<{ record: CapturedSource; stdout?: string }> {
  const argv = [...spec.argv];
  const res = await netnsExec(netnsPath, argv, execOpts);
  if (res.exitCode === 0 && !res.toolMissing) {
    return {
      record: { argv, status: "ok", exitCode: 0, bytes: Buffer.byteLength(res.stdout) },
      stdout: res.stdout,
    };
  }
  const stderr = res.stderr.trim().slice(0, 4000);
  if (spec.optional) {
    return { record: { argv, status: "absent", exitCode: res.exitCode, stderr } };
  }
  const cmd = argv.join(" ");
  throw new CollectError(
    `node ${node}, netns ${netnsLabel} (${netnsPath}): \`${cmd}\` ${
      res.toolMissing ? "is not installed" : `failed with exit ${res.exitCode}`
    }: ${stderr || "(no stderr)"}`,
    res.toolMissing
      ? `\`${argv[0]}\` is in none of ${toolSearchPath(process.env.PATH)} (PATH plus the system sbin/bin directories): install the package that provides it on the node (iproute2 for ip/bridge, procps for sysctl)`
      : `run \`nsenter --net=${netnsPath} -- ${cmd}\` by hand as root to see why it fails`,
  );
}

/** Captures the given sources of one netns, sequentially, into a NetnsCapture. */
export async function captureNetns(
  node: string,
  base: Omit<NetnsManifest, "sources">,
  specs: readonly SourceSpec[],
  execOpts?: NetnsExecOptions,
  already: Partial<Record<SourceName, { record: CapturedSource; stdout?: string }>> = {},
): Promise<NetnsCapture> {
  const sources: NetnsManifest["sources"] = {};
  const outputs: NetnsCapture["outputs"] = {};
  for (const spec of specs) {
    const got = already[spec.name] ?? (await captureSource(node, base.netns, base.path, spec, execOpts));
    sources[spec.name] = got.record;
    if (got.stdout !== undefined) outputs[spec.name] = got.stdout;
  }
  return { manifest: { ...base, sources }, outputs };
}

#!/usr/bin/env node
/**
 * The probe's entry point, one per node: `node --max-semi-space-size=2 operator/probe/dist/agent/main.js
 *   --node NAME [--host-netns PATH] [--kubeconfig PATH] [--identity NAME] [--log-level LEVEL]
 *   [--state-ttl-ms MS]` (how long one read of the node serves later walks; default 1000).
 *
 * In a DaemonSet pod: --node=$(NODE_NAME) --host-netns=/proc/1/ns/net, in-cluster credentials.
 * In the tests: one process per lab node, --host-netns /var/run/netns/<node netns>, a kubeconfig
 * holding a ServiceAccount token bound to a Pod on that node.
 *
 * Run it with the V8 flags in operator/probe/src/runtime.ts (PROBE_NODE_FLAGS).
 */
import { ProbeAgent } from "./agent.js";
import { inClusterTarget, KubeClient, kubeconfigTarget } from "./kube-client.js";
import { type ProbeLogLevel, probeLogger } from "./log.js";
import { coreWalkNode } from "./walk-segment.js";

interface ProbeFlags {
  node: string;
  hostNetns: string;
  kubeconfig?: string;
  identity: string;
  logLevel: ProbeLogLevel;
  stateTtlMs: number;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): ProbeFlags {
  const f: Partial<ProbeFlags> = {
    hostNetns: "/proc/1/ns/net",
    identity: env.POD_NAME ?? `probe-${process.pid}`,
    logLevel: "info",
    stateTtlMs: 1000,
    ...(env.NODE_NAME ? { node: env.NODE_NAME } : {}),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      const v = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === "") throw new Error(`${name} needs a value`);
      return v;
    };
    if (name === "--node") f.node = value();
    else if (name === "--host-netns") f.hostNetns = value();
    else if (name === "--kubeconfig") f.kubeconfig = value();
    else if (name === "--identity") f.identity = value();
    else if (name === "--state-ttl-ms") f.stateTtlMs = Number(value());
    else if (name === "--log-level") {
      const v = value();
      if (!["debug", "info", "warn", "error"].includes(v))
        throw new Error(`--log-level ${v}: use debug, info, warn or error`);
      f.logLevel = v as ProbeLogLevel;
    } else throw new Error(`unknown flag ${arg}: see the header of operator/probe/src/agent/main.ts`);
  }
  if (!f.node || f.node.includes("$("))
    throw new Error(
      "--node is required (in a DaemonSet: --node=$(NODE_NAME) with NODE_NAME from spec.nodeName)",
    );
  if (!Number.isInteger(f.stateTtlMs) || (f.stateTtlMs ?? -1) < 0)
    throw new Error(
      "--state-ttl-ms must be a whole number of milliseconds (0: read the node for every walk)",
    );
  return f as ProbeFlags;
}

async function main(): Promise<void> {
  const flags = parse(process.argv.slice(2), process.env);
  const log = probeLogger(flags.logLevel, { component: "netmap-probe", node: flags.node });
  const target = flags.kubeconfig ? await kubeconfigTarget(flags.kubeconfig) : inClusterTarget();
  const client = new KubeClient(target);
  const agent = new ProbeAgent({
    client,
    node: flags.node,
    hostNetns: flags.hostNetns,
    walkNode: coreWalkNode(),
    log,
    identity: flags.identity,
    stateTtlMs: flags.stateTtlMs,
  });
  const stop = () => {
    log.info("stopping");
    agent.stop();
    client.close();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  log.info("probe started", { hostNetns: flags.hostNetns, server: target.server, identity: flags.identity });
  await agent.run();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "probe failed", error: err instanceof Error ? err.message : String(err) })}\n`,
  );
  process.exit(1);
});

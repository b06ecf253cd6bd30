#!/usr/bin/env node
/**
 * The operator's entry point: `node operator/controller/dist/main.js [flags]`.
 *
 *   --namespace NS          where the probe configuration and DaemonSet live (default $POD_NAMESPACE, else "netmap")
 *   --kubeconfig PATH       default: $KUBECONFIG, else in-cluster
 *   --metrics-addr HOST:PORT  /metrics, /healthz, /readyz (default 0.0.0.0:8080; port 0 picks one)
 *   --leader-elect=false    skip the Lease (one replica only)
 *   --lease-name NAME       default netmap-operator
 *   --workers N             concurrent trace reconciles (default 16)
 *   --log-level LEVEL       debug, info, warn, error (default info)
 */
import { hostname } from "node:os";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { parseFlags } from "./flags.js";
import { pooledConnections } from "./kube/keep-alive.js";
import { LeaderElector } from "./kube/leader.js";
import { startHealthServer } from "./observe/http.js";
import { errorMessage, jsonLogger } from "./observe/log.js";
import { operatorMetrics } from "./observe/metrics.js";
import { Operator } from "./operator.js";
import { coreNextStep } from "./trace/engine.js";

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), process.env);
  const log = jsonLogger({ level: flags.logLevel, base: { component: "netmap-operator" } });
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromCluster();
  pooledConnections(kc);
  const metrics = operatorMetrics();
  const operator = new Operator({
    kc,
    namespace: flags.namespace,
    nextStep: coreNextStep(),
    metrics,
    log,
    workers: flags.workers,
  });
  const identity = `${hostname()}-${process.pid}`;
  const elector = flags.leaderElect
    ? new LeaderElector({
        api: kc.makeApiClient(CoordinationV1Api),
        namespace: flags.namespace,
        name: flags.leaseName,
        identity,
        log,
      })
    : undefined;
  const { port } = await startHealthServer({
    port: flags.metricsPort,
    host: flags.metricsHost,
    registry: metrics.registry,
    ready: () => operator.synced,
  });
  log.info("serving /metrics, /healthz, /readyz", { port });

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down");
    await elector?.stop();
    await operator.stop();
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));

  await operator.startInformers();
  log.info("caches synced", { namespace: flags.namespace });
  if (elector) {
    await elector.run(() => void shutdown(1));
    metrics.leader.set(1);
  }
  operator.startWorkers();
  log.info("reconciling", { identity, leaderElection: flags.leaderElect });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "operator failed to start", error: errorMessage(err) })}\n`,
  );
  process.exit(1);
});

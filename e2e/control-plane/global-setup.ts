/**
 * Vitest global setup of the `control-plane` project: builds (cold: ~8 min on 2 cores, its
 * progress printed) or finds (cached: instant) the pinned kube-apiserver, kubectl, etcd, helm and
 * kube-controller-manager,
 * and provides their paths to the tests as `inject("netmapTools")`.
 */
import type { TestProject } from "vitest/node";
import { ensureTools } from "./tools.js";

declare module "vitest" {
  export interface ProvidedContext {
    netmapTools: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  process.stderr.write('[control-plane] msg="checking the Go-built tools (e2e/infra/go-tools.sh)"\n');
  // kube-controller-manager: the chart tests' garbage collector and DaemonSet controller (e2e/chart).
  const tools = await ensureTools(["kube-apiserver", "kubectl", "etcd", "helm", "kube-controller-manager"]);
  process.stderr.write(`[control-plane] msg="tools ready" ms=${Date.now() - t0}\n`);
  project.provide("netmapTools", tools);
}

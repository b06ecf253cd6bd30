/**
 * Keeps the probe DaemonSet in step with its configuration ConfigMap: created when the ConfigMap
 * appears, replaced when the configuration (and so the template's hash) changes, deleted by the
 * operator itself when the ConfigMap goes (a cluster's garbage collector would too, through the
 * owner reference; the operator does not rely on one). A configuration that does not parse leaves
 * the DaemonSet as it is and says why in an Event on the ConfigMap.
 */
import type { V1ConfigMap, V1DaemonSet } from "@kubernetes/client-node";
import type { Logger } from "../observe/log.js";
import { CONFIG_KEY, ProbeConfigError, parseProbeConfig } from "./config.js";
import { CONFIG_HASH, probeDaemonSet } from "./daemonset.js";

export interface DaemonSetWriter {
  create(ds: V1DaemonSet): Promise<void>;
  replace(ds: V1DaemonSet): Promise<void>;
  delete(namespace: string, name: string): Promise<void>;
  event(cm: V1ConfigMap, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

export interface ProbeReconcilerDeps {
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  daemonSet(namespace: string, name: string): V1DaemonSet | undefined;
  writer: DaemonSetWriter;
  log: Logger;
}

export class ProbeReconciler {
  constructor(private readonly d: ProbeReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<void> {
    const cm = this.d.configMap(namespace, name);
    const existing = this.d.daemonSet(namespace, name);
    if (!cm || cm.metadata?.deletionTimestamp) {
      if (existing && ownedByConfigMap(existing, name)) {
        await this.d.writer.delete(namespace, name);
        this.d.log.info("probe DaemonSet deleted: its configuration is gone", { namespace, name });
      }
      return;
    }
    let desired: V1DaemonSet;
    try {
      desired = probeDaemonSet(cm, parseProbeConfig(cm.data?.[CONFIG_KEY] ?? ""));
    } catch (err) {
      if (!(err instanceof ProbeConfigError)) throw err;
      this.d.log.warn("probe configuration refused; the DaemonSet is left as it is", {
        configMap: `${namespace}/${name}`,
        problems: err.problems,
      });
      await this.d.writer.event(cm, "Warning", "InvalidProbeConfig", err.message);
      return;
    }
    if (!existing) {
      await this.d.writer.create(desired);
      this.d.log.info("probe DaemonSet created", {
        namespace,
        name,
        hash: desired.metadata?.annotations?.[CONFIG_HASH],
      });
      await this.d.writer.event(cm, "Normal", "ProbesDeployed", `DaemonSet ${namespace}/${name} created`);
      return;
    }
    const have = existing.metadata?.annotations?.[CONFIG_HASH];
    const want = desired.metadata?.annotations?.[CONFIG_HASH];
    const ownerUid = existing.metadata?.ownerReferences?.find((o) => o.kind === "ConfigMap")?.uid;
    if (have === want && ownerUid === cm.metadata?.uid) return;
    desired.metadata = { ...desired.metadata, resourceVersion: existing.metadata?.resourceVersion ?? "" };
    await this.d.writer.replace(desired);
    this.d.log.info("probe DaemonSet updated: the configuration changed, the probes roll", {
      namespace,
      name,
      from: have,
      to: want,
    });
    await this.d.writer.event(
      cm,
      "Normal",
      "ProbesUpdated",
      `DaemonSet ${namespace}/${name} updated (configuration ${want})`,
    );
  }
}

function ownedByConfigMap(ds: V1DaemonSet, name: string): boolean {
  return (ds.metadata?.ownerReferences ?? []).some(
    (o) => o.kind === "ConfigMap" && o.name === name && o.controller,
  );
}

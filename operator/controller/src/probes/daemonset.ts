/**
 * The probe DaemonSet, as a pure function of the configuration ConfigMap: one probe per node
 * (every node, control-plane included, with the default tolerations), hostNetwork and hostPID, the
 * capabilities the configuration names, the V8 flags, and the node's name from the downward API.
 * The ConfigMap is its controlling owner; the pod template carries a hash of the configuration, so
 * changing the configuration rolls the probes.
 */
import { createHash } from "node:crypto";
import type { V1ConfigMap, V1DaemonSet, V1SecurityContext } from "@kubernetes/client-node";
import { LABELS } from "@netmap/api";
import { capabilitiesOf, type ProbeConfig } from "./config.js";

export const CONFIG_HASH = "netmap.io/config-hash";
/** The probe's entry point inside the image (WORKDIR /app). */
export const PROBE_ENTRY = "operator/probe/dist/agent/main.js";

export function configHash(cfg: ProbeConfig): string {
  return createHash("sha256").update(JSON.stringify(cfg)).digest("hex").slice(0, 16);
}

export function probeDaemonSet(owner: V1ConfigMap, cfg: ProbeConfig): V1DaemonSet {
  const name = owner.metadata?.name ?? "netmap-probe";
  const namespace = owner.metadata?.namespace ?? "";
  const selector = {
    "app.kubernetes.io/name": "netmap",
    [LABELS.component]: "probe",
    "netmap.io/probe": name,
  };
  const hash = configHash(cfg);
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name,
      namespace,
      labels: { ...selector, [LABELS.managedBy]: "netmap-operator" },
      annotations: { [CONFIG_HASH]: hash },
      ownerReferences: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          name,
          uid: owner.metadata?.uid ?? "",
          controller: true,
          // No blockOwnerDeletion: with OwnerReferencesPermissionEnforcement (OpenShift) it would need
          // update on configmaps/finalizers, and nothing waits on a foreground deletion of the ConfigMap.
        },
      ],
    },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: cfg.maxUnavailable } },
      template: {
        metadata: {
          labels: { ...cfg.podLabels, ...selector },
          annotations: { ...cfg.podAnnotations, [CONFIG_HASH]: hash },
        },
        spec: {
          serviceAccountName: cfg.serviceAccountName,
          // The probe's one credential: a token bound to its pod, so the API server knows its node.
          automountServiceAccountToken: true,
          ...(cfg.imagePullSecrets.length
            ? { imagePullSecrets: cfg.imagePullSecrets.map((name) => ({ name })) }
            : {}),
          hostNetwork: cfg.hostNetwork,
          hostPID: cfg.hostPID,
          dnsPolicy: "ClusterFirstWithHostNet",
          ...(cfg.priorityClassName ? { priorityClassName: cfg.priorityClassName } : {}),
          nodeSelector: cfg.nodeSelector,
          tolerations: cfg.tolerations,
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "probe",
              image: cfg.image,
              imagePullPolicy: cfg.imagePullPolicy,
              command: [
                "node",
                ...cfg.nodeFlags,
                PROBE_ENTRY,
                "--node=$(NODE_NAME)",
                "--host-netns=/proc/1/ns/net",
                `--log-level=${cfg.logLevel}`,
              ],
              env: [
                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              resources: cfg.resources,
              securityContext: probeSecurityContext(cfg),
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } }],
        },
      },
    },
  };
}

/**
 * The probe container's security context. Root (uid 0: the netns files and /proc/<pid>/ns of other
 * users' processes), no privilege escalation, a read-only root filesystem (it writes only /tmp, an
 * emptyDir), seccomp RuntimeDefault unless configured otherwise; and either the capabilities the
 * configuration names with every other one dropped, or privileged: true.
 */
export function probeSecurityContext(cfg: ProbeConfig): V1SecurityContext {
  const common: V1SecurityContext = {
    runAsUser: 0,
    runAsGroup: 0,
    readOnlyRootFilesystem: true,
    seccompProfile: { type: cfg.seccompProfile },
  };
  if (cfg.privileged) return { ...common, privileged: true };
  return { ...common, privileged: false, allowPrivilegeEscalation: false, capabilities: capabilitiesOf(cfg) };
}

/**
 * The probe configuration: a ConfigMap (label netmap.io/probe-config=true, key probe.yaml) in the
 * operator's namespace, which the operator turns into the probe DaemonSet it owns. A bad
 * configuration is refused with every problem named; the DaemonSet is then left as it was.
 */
import type { V1Capabilities, V1ResourceRequirements, V1Toleration } from "@kubernetes/client-node";
import { parse } from "yaml";

export const CONFIG_LABEL = "netmap.io/probe-config";
export const CONFIG_KEY = "probe.yaml";

export interface ProbeConfig {
  /** The netmap image (operator and probe are one image). */
  image: string;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** The ServiceAccount the probes run as (its token is what the API server knows the probe by). */
  serviceAccountName: string;
  nodeSelector: Record<string, string>;
  /** Default: tolerate everything, so every node (control-plane nodes too) runs a probe. */
  tolerations: V1Toleration[];
  resources: V1ResourceRequirements;
  /** The probe reads its node's network namespaces: hostNetwork and hostPID (for /proc/<pid>/ns/net). */
  hostNetwork: boolean;
  hostPID: boolean;
  /** privileged: true instead of the capabilities below. */
  privileged: boolean;
  /** NET_ADMIN (netlink dumps of nf_tables, iptables), SYS_ADMIN (setns), SYS_PTRACE (other processes' /proc/<pid>/ns). */
  capabilities: string[];
  priorityClassName?: string;
  /** V8 flags the probe's node runs with (operator/probe/src/runtime.ts). */
  nodeFlags: string[];
  logLevel: "debug" | "info" | "warn" | "error";
  /** Extra labels on the probe pods. */
  podLabels: Record<string, string>;
  /** Extra annotations on the probe pods. */
  podAnnotations: Record<string, string>;
  /** Secrets (names, in the operator's namespace) to pull the image with. */
  imagePullSecrets: string[];
  /**
   * The probe container's seccomp profile. RuntimeDefault lets setns/unshare/mount through only with
   * CAP_SYS_ADMIN, which the probe has; Unconfined is the way out on a runtime whose default profile
   * refuses them.
   */
  seccompProfile: "RuntimeDefault" | "Unconfined";
  /** How many probes a change rolls at once: a number or a percentage of the nodes ("10%"). */
  maxUnavailable: number | string;
}

export const DEFAULT_PROBE_CONFIG: Omit<ProbeConfig, "image"> = {
  imagePullPolicy: "IfNotPresent",
  serviceAccountName: "netmap-probe",
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [{ operator: "Exists" }],
  resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  hostNetwork: true,
  hostPID: true,
  privileged: false,
  capabilities: ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"],
  priorityClassName: "system-node-critical",
  nodeFlags: ["--max-semi-space-size=2"],
  logLevel: "info",
  podLabels: {},
  podAnnotations: {},
  imagePullSecrets: [],
  seccompProfile: "RuntimeDefault",
  maxUnavailable: "10%",
};

export class ProbeConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`probe configuration refused: ${problems.join("; ")}`);
    this.name = "ProbeConfigError";
  }
}

const KEYS = new Set<string>(["image", ...Object.keys(DEFAULT_PROBE_CONFIG)]);
const PULL = ["Always", "IfNotPresent", "Never"];
const LEVELS = ["debug", "info", "warn", "error"];
const CAP = /^[A-Z_]+$/;
const SECCOMP = ["RuntimeDefault", "Unconfined"];
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses probe.yaml; throws ProbeConfigError naming every problem. */
export function parseProbeConfig(text: string): ProbeConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ProbeConfigError([
      `${CONFIG_KEY} is not YAML: ${err instanceof Error ? err.message : String(err)}`,
    ]);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ProbeConfigError([`${CONFIG_KEY} must be a mapping (image: …, tolerations: …)`]);
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(r))
    if (!KEYS.has(k)) problems.push(`unknown key "${k}" (known: ${[...KEYS].join(", ")})`);
  const cfg: ProbeConfig = { ...DEFAULT_PROBE_CONFIG, image: "" } as ProbeConfig;
  if (typeof r.image !== "string" || r.image.trim() === "")
    problems.push("image is required: the netmap image, e.g. ghcr.io/…/netmap:0.1.0");
  else cfg.image = r.image;
  const str = <K extends keyof ProbeConfig>(k: K, allowed?: string[]) => {
    if (r[k] === undefined) return;
    if (typeof r[k] !== "string" || (allowed && !allowed.includes(r[k] as string)))
      problems.push(`${k} must be ${allowed ? `one of ${allowed.join(", ")}` : "a string"}`);
    else (cfg as unknown as Record<string, unknown>)[k] = r[k];
  };
  const bool = (k: keyof ProbeConfig) => {
    if (r[k] === undefined) return;
    if (typeof r[k] !== "boolean") problems.push(`${k} must be true or false`);
    else (cfg as unknown as Record<string, unknown>)[k] = r[k];
  };
  const stringMap = (k: keyof ProbeConfig) => {
    if (r[k] === undefined) return;
    const v = r[k];
    if (
      typeof v !== "object" ||
      v === null ||
      Array.isArray(v) ||
      Object.values(v).some((x) => typeof x !== "string")
    )
      problems.push(`${k} must be a map of strings`);
    else (cfg as unknown as Record<string, unknown>)[k] = v;
  };
  const stringList = (k: keyof ProbeConfig, each?: RegExp) => {
    if (r[k] === undefined) return;
    const v = r[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || (each && !each.test(x))))
      problems.push(`${k} must be a list of strings${each ? ` matching ${each}` : ""}`);
    else (cfg as unknown as Record<string, unknown>)[k] = v;
  };
  str("imagePullPolicy", PULL);
  str("serviceAccountName");
  str("priorityClassName");
  str("logLevel", LEVELS);
  str("seccompProfile", SECCOMP);
  bool("hostNetwork");
  bool("hostPID");
  bool("privileged");
  stringMap("nodeSelector");
  stringMap("podLabels");
  stringMap("podAnnotations");
  stringList("imagePullSecrets", DNS_SUBDOMAIN);
  stringList("capabilities", CAP);
  stringList("nodeFlags", /^--[a-z0-9-]+(=\S+)?$/);
  if (r.tolerations !== undefined) {
    if (!Array.isArray(r.tolerations) || r.tolerations.some((t) => typeof t !== "object" || t === null))
      problems.push("tolerations must be a list of tolerations ({operator: Exists} tolerates every taint)");
    else cfg.tolerations = r.tolerations as V1Toleration[];
  }
  if (r.resources !== undefined) {
    const v = r.resources;
    if (typeof v !== "object" || v === null || Array.isArray(v))
      problems.push("resources must be {requests: …, limits: …}");
    else cfg.resources = v as V1ResourceRequirements;
  }
  if (r.maxUnavailable !== undefined) {
    const v = r.maxUnavailable;
    if (
      (typeof v === "number" && Number.isInteger(v) && v >= 1) ||
      (typeof v === "string" && /^[1-9][0-9]?%$|^100%$/.test(v))
    )
      cfg.maxUnavailable = v;
    else problems.push('maxUnavailable must be a whole number ≥ 1 or a percentage such as "10%"');
  }
  if (cfg.hostNetwork === false)
    problems.push("hostNetwork must stay true: the probe reads its node's host network namespace");
  if (problems.length) throw new ProbeConfigError(problems);
  return cfg;
}

/** The container capabilities the configuration asks for. */
export function capabilitiesOf(cfg: ProbeConfig): V1Capabilities {
  return { add: cfg.capabilities, drop: ["ALL"] };
}

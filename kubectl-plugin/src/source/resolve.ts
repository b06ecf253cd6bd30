/**
 * Turns a command-line address (`10.244.1.3`, `pod-a`, `default/pod-a`, `pod/pod-a`, a netns name
 * such as `cni-1234`, or `svc/web` for a destination) into the IP the engine traces, using what the
 * snapshots' manifests know about their pods. Unknown names fail with the closest matches.
 */
import { isIP } from "node:net";
import type { ClusterFacts, NodeCapture } from "@netmap/core";
import { UsageError } from "../cli/errors.js";
import { closestMatches } from "../cli/suggest.js";

/** One pod netns the snapshots know of. */
export interface KnownPod {
  node: string;
  netns: string;
  ips: string[];
  /** "ns/name" when the manifest carries the pod. */
  pod?: string;
}

/** A node's own netns (where hostNetwork pods and node processes live) and its addresses. */
export interface KnownHost {
  node: string;
  /** Its global addresses, the node's own (uplink) ones first. */
  ips: string[];
}

/** A resolved address: the IP to trace, and what it is. */
export interface ResolvedEndpoint {
  ip: string;
  /** How to show it: "default/pod-a (10.244.0.2)". */
  label: string;
  /** The pod netns it belongs to, when it is a pod's. */
  pod?: KnownPod;
  /** The node whose host netns holds it, when it is a node's (or a hostNetwork pod's) address. */
  host?: string;
  /** A Service's port, when the address was `svc/…` and the Service has exactly one port. */
  port?: number;
}

/** Every pod netns found in the captures (the host netns of each node excluded). */
export function knownPods(captures: NodeCapture[]): KnownPod[] {
  const pods: KnownPod[] = [];
  for (const c of captures) {
    for (const ns of c.manifest.netns) {
      if (ns.netns === "host") continue;
      const p: KnownPod = { node: c.manifest.node, netns: ns.netns, ips: ns.ips ?? [] };
      if (ns.pod) p.pod = `${ns.pod.namespace}/${ns.pod.name}`;
      pods.push(p);
    }
  }
  return pods;
}

function describe(p: KnownPod, ip: string): string {
  return `${p.pod ?? `netns ${p.netns}`} on ${p.node} (${ip})`;
}

function candidates(pods: KnownPod[]): string[] {
  return pods.flatMap((p) => [...(p.pod ? [p.pod, p.pod.split("/")[1] ?? ""] : []), p.netns, ...p.ips]);
}

function unknown(what: string, arg: string, pods: KnownPod[], extra: string[] = []): UsageError {
  const close = closestMatches(arg, [...candidates(pods), ...extra]);
  const known = pods.map((p) => p.pod ?? p.netns).slice(0, 8);
  const hint =
    close.length > 0
      ? `did you mean ${close.join(", ")}?`
      : known.length > 0
        ? `pods in the snapshots: ${known.join(", ")}${pods.length > known.length ? ", …" : ""}`
        : "the snapshots contain no pod netns; was the snapshot taken on a node with pods?";
  return new UsageError(`${what} "${arg}" is not in the snapshots`, hint);
}

function one(arg: string, matches: KnownPod[], pods: KnownPod[], role: string): ResolvedEndpoint | undefined {
  if (matches.length === 0) return undefined;
  if (matches.length > 1) {
    const alts = matches.map((m) => m.pod ?? `${m.node}:${m.netns}`).join(", ");
    throw new UsageError(`${role} "${arg}" is ambiguous: ${alts}`, "name it as namespace/name or by its IP");
  }
  const p = matches[0] as KnownPod;
  const ip = p.ips[0];
  if (!ip) throw unknown(`${role} pod without an address`, arg, pods);
  return { ip, label: describe(p, ip), pod: p };
}

function onHost(host: KnownHost, ip: string): ResolvedEndpoint {
  return { ip, label: `node ${host.node} (host netns, ${ip})`, host: host.node };
}

/**
 * Resolves a source or destination argument: a pod (name, ns/name, pod/name, netns name or IP), a
 * node's host netns (`node/NAME`, or one of its addresses: where hostNetwork pods run), a destination
 * may also be any IP (a Service's ClusterIP) or `svc/[ns/]name` when the facts list Services.
 */
export function resolveEndpointArg(
  arg: string,
  role: "source" | "destination",
  captures: NodeCapture[],
  opts: { namespace?: string; facts?: ClusterFacts; hosts?: readonly KnownHost[] } = {},
): ResolvedEndpoint {
  const pods = knownPods(captures);
  const hosts = opts.hosts ?? [];
  const raw = arg.trim();
  if (isIP(raw)) {
    const owner = pods.find((p) => p.ips.includes(raw));
    if (owner) return { ip: raw, label: describe(owner, raw), pod: owner };
    const host = hosts.find((h) => h.ips.includes(raw));
    if (host) return onHost(host, raw);
    if (role === "destination") return { ip: raw, label: raw };
    throw unknown(
      "source address",
      raw,
      pods,
      hosts.flatMap((h) => h.ips),
    );
  }
  const nodeRef = /^(?:node|nodes|no)\/(.+)$/.exec(raw)?.[1];
  if (nodeRef !== undefined) {
    const host = hosts.find((h) => h.node === nodeRef);
    const ip = host?.ips[0];
    if (host && ip) return onHost(host, ip);
    const names = hosts.map((h) => `node/${h.node}`);
    const close = closestMatches(raw, names);
    throw new UsageError(
      `${role} "${raw}" is not a node in the snapshots`,
      close.length > 0
        ? `did you mean ${close.join(", ")}?`
        : `nodes in the snapshots: ${names.join(", ") || "none"}`,
    );
  }
  const svc = /^(?:svc|service|services)\/(.+)$/.exec(raw);
  if (svc) {
    if (role === "source") throw new UsageError(`a source must be a pod, not ${raw}`);
    return resolveService(svc[1] as string, opts);
  }
  const name = raw.replace(/^(?:pod|pods|po)\//, "");
  const slash = name.indexOf("/");
  if (slash >= 0) {
    const found = one(
      raw,
      pods.filter((p) => p.pod === name),
      pods,
      role,
    );
    if (found) return found;
    throw unknown(role, raw, pods);
  }
  const byName = pods.filter(
    (p) => p.pod?.split("/")[1] === name && (!opts.namespace || p.pod.startsWith(`${opts.namespace}/`)),
  );
  const found =
    one(raw, byName, pods, role) ??
    one(
      raw,
      pods.filter((p) => p.netns === name),
      pods,
      role,
    );
  if (found) return found;
  throw unknown(role, raw, pods);
}

function resolveService(ref: string, opts: { namespace?: string; facts?: ClusterFacts }): ResolvedEndpoint {
  const [ns, name] = ref.includes("/") ? (ref.split("/", 2) as [string, string]) : [opts.namespace, ref];
  const services = opts.facts?.services ?? [];
  const matches = services.filter((s) => s.name === name && (!ns || s.namespace === ns));
  const svc = matches[0];
  if (!svc || matches.length > 1) {
    const all = services.map((s) => `svc/${s.namespace}/${s.name}`);
    const close = closestMatches(`svc/${ns ? `${ns}/` : ""}${name}`, all);
    const hint =
      matches.length > 1
        ? `name it as svc/namespace/name: ${matches.map((s) => `svc/${s.namespace}/${s.name}`).join(", ")}`
        : all.length === 0
          ? "the snapshots carry no Services; pass the Service's ClusterIP instead"
          : close.length > 0
            ? `did you mean ${close.join(", ")}?`
            : `Services in the snapshots: ${all.slice(0, 8).join(", ")}`;
    throw new UsageError(
      `Service "${ref}" is not ${matches.length > 1 ? "unique" : "in the snapshots"}`,
      hint,
    );
  }
  const ip = svc.clusterIPs[0];
  if (!ip) throw new UsageError(`Service ${svc.namespace}/${svc.name} has no ClusterIP`);
  const res: ResolvedEndpoint = { ip, label: `svc/${svc.namespace}/${svc.name} (${ip})` };
  const port = svc.ports.length === 1 ? svc.ports[0]?.port : undefined;
  if (port !== undefined) res.port = port;
  return res;
}

/**
 * From a NetworkTrace's spec to the engine's TraceRequest: which node and netns the packet starts
 * in, and the packet itself. Pure: it reads the operator's caches of Pods, Services,
 * EndpointSlices and Nodes through ClusterView. Every refusal says what is wrong and what to do.
 */
import { isIP } from "node:net";
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from "@kubernetes/client-node";
import { DEFAULTS, type NetworkTraceSpec } from "@netmap/api";
import type { Packet, TraceRequest } from "@netmap/core";

export interface ClusterView {
  pod(namespace: string, name: string): V1Pod | undefined;
  pods(namespace?: string): readonly V1Pod[];
  service(namespace: string, name: string): V1Service | undefined;
  services(namespace: string): readonly V1Service[];
  endpointSlices(namespace: string, service: string): readonly V1EndpointSlice[];
  node(name: string): V1Node | undefined;
  nodes(): readonly V1Node[];
}

/** A resolved trace: the request for the engine, and what people see in status. */
export interface Resolved {
  request: TraceRequest;
  /** "default/pod-a (10.244.1.2 on node-1)". */
  sourceText: string;
  /** "svc default/web 10.96.0.10:80". */
  destinationText: string;
  /** The destination Service, when there is one (its facts go to the nodes' tasks). */
  service?: { namespace: string; name: string };
  /** Pods named by the trace (source, destination), for the facts. */
  pods: Array<{ namespace: string; name: string }>;
}

/** Why a trace cannot start. `reason` is a condition reason (CamelCase). */
export class ResolveError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "ResolveError";
  }
}

interface Endpoint {
  ip: string;
  text: string;
  node?: string;
  netns?: string;
}

/** Resolves `spec` of a NetworkTrace in `namespace`; throws ResolveError. */
export function resolveTrace(spec: NetworkTraceSpec, namespace: string, view: ClusterView): Resolved {
  const protocol = spec.protocol ?? DEFAULTS.protocol;
  const pods: Array<{ namespace: string; name: string }> = [];
  const src = resolveSource(spec, namespace, view, pods);
  const dst = resolveDestination(spec, namespace, view, pods, src.ip);
  const packet: Packet = { protocol, src: src.ip, dst: dst.ip };
  if (protocol !== "icmp") {
    packet.sport = spec.sourcePort ?? DEFAULTS.sourcePort;
    if (spec.port === undefined)
      throw new ResolveError("InvalidSpec", `port is required for ${protocol}: set spec.port`);
    packet.dport = spec.port;
  }
  const request: TraceRequest = {
    packet,
    source: { node: src.node as string, ...(src.netns ? { netns: src.netns } : {}) },
    ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
  };
  const port = packet.dport !== undefined ? `:${packet.dport}` : "";
  return {
    request,
    sourceText: src.text,
    destinationText: `${dst.text}${dst.text.includes(dst.ip) ? port : ` ${dst.ip}${port}`}`,
    ...(dst.service ? { service: dst.service } : {}),
    pods,
  };
}

function resolveSource(
  spec: NetworkTraceSpec,
  namespace: string,
  view: ClusterView,
  pods: Array<{ namespace: string; name: string }>,
): Endpoint {
  const s = spec.source;
  if (s.node !== undefined) {
    const node = view.node(s.node);
    if (!node)
      throw new ResolveError("NodeNotFound", `node ${s.node} not found${closeNames(s.node, view.nodes())}`);
    const ip = internalIp(node, spec.destination.ip);
    if (!ip)
      throw new ResolveError(
        "NodeHasNoAddress",
        `node ${s.node} has no InternalIP in status.addresses: the packet needs a source address`,
      );
    return { ip, node: s.node, netns: "host", text: `node ${s.node} (${ip})` };
  }
  const ns = s.namespace ?? namespace;
  const name = s.pod as string;
  const pod = requirePod(view, ns, name, "source");
  pods.push({ namespace: ns, name });
  const ip = pod.status?.podIP as string;
  const node = pod.spec?.nodeName as string;
  const hostNetwork = pod.spec?.hostNetwork === true;
  return {
    ip,
    node,
    ...(hostNetwork ? { netns: "host" } : {}),
    text: `${ns}/${name} (${ip} on ${node}${hostNetwork ? ", hostNetwork" : ""})`,
  };
}

function resolveDestination(
  spec: NetworkTraceSpec,
  namespace: string,
  view: ClusterView,
  pods: Array<{ namespace: string; name: string }>,
  srcIp: string,
): Endpoint & { service?: { namespace: string; name: string } } {
  const d = spec.destination;
  const ns = d.namespace ?? namespace;
  if (d.ip !== undefined) {
    if (!isIP(d.ip)) throw new ResolveError("InvalidSpec", `destination.ip ${d.ip} is not an IP address`);
    sameFamily(srcIp, d.ip);
    const owner = view.pods().find((p) => !p.spec?.hostNetwork && podIps(p).includes(d.ip as string));
    const text = owner ? `${d.ip} (pod ${owner.metadata?.namespace}/${owner.metadata?.name})` : d.ip;
    return { ip: d.ip, text };
  }
  if (d.pod !== undefined) {
    const pod = requirePod(view, ns, d.pod, "destination");
    pods.push({ namespace: ns, name: d.pod });
    const ip = pod.status?.podIP as string;
    sameFamily(srcIp, ip);
    return { ip, text: `${ns}/${d.pod} (${ip} on ${pod.spec?.nodeName})` };
  }
  const name = d.service as string;
  const svc = view.service(ns, name);
  if (!svc)
    throw new ResolveError(
      "ServiceNotFound",
      `Service ${ns}/${name} not found${closeNames(name, view.services(ns))}`,
    );
  const type = svc.spec?.type ?? "ClusterIP";
  if (type === "ExternalName")
    throw new ResolveError(
      "ServiceHasNoClusterIP",
      `Service ${ns}/${name} is an ExternalName (${svc.spec?.externalName}): it is a DNS alias with no ClusterIP; trace to the address it names`,
    );
  const ips = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).filter(
    (ip) => ip !== "None" && ip !== "",
  );
  if (ips.length === 0)
    throw new ResolveError(
      "ServiceHasNoClusterIP",
      `Service ${ns}/${name} is headless (clusterIP: None): kube-proxy does not handle it; trace to one of its pods`,
    );
  const family = isIP(srcIp);
  const ip = ips.find((a) => isIP(a) === family);
  if (!ip)
    throw new ResolveError(
      "AddressFamilyMismatch",
      `Service ${ns}/${name} has no IPv${family} ClusterIP (it has ${ips.join(", ")}) and the source ${srcIp} is IPv${family}`,
    );
  const protocol = (spec.protocol ?? DEFAULTS.protocol).toUpperCase();
  const ports = svc.spec?.ports ?? [];
  if (!ports.some((p) => p.port === spec.port && (p.protocol ?? "TCP") === protocol)) {
    const have = ports
      .map((p) => `${p.port}/${p.protocol ?? "TCP"}${p.name ? ` (${p.name})` : ""}`)
      .join(", ");
    throw new ResolveError(
      "ServicePortNotFound",
      `Service ${ns}/${name} has no ${protocol} port ${spec.port}${have ? `; its ports: ${have}` : " (it has no ports)"}`,
    );
  }
  return { ip, text: `svc ${ns}/${name} ${ip}`, service: { namespace: ns, name } };
}

function requirePod(view: ClusterView, ns: string, name: string, role: string): V1Pod {
  const pod = view.pod(ns, name);
  if (!pod)
    throw new ResolveError(
      "PodNotFound",
      `${role} pod ${ns}/${name} not found${closeNames(name, view.pods(ns))}`,
    );
  if (!pod.spec?.nodeName)
    throw new ResolveError(
      "PodNotScheduled",
      `${role} pod ${ns}/${name} is not scheduled to a node yet: wait until it runs, then trace again`,
    );
  if (!pod.status?.podIP)
    throw new ResolveError(
      "PodHasNoIP",
      `${role} pod ${ns}/${name} has no IP yet (phase ${pod.status?.phase ?? "unknown"}): wait until it runs, then trace again`,
    );
  return pod;
}

function sameFamily(src: string, dst: string): void {
  if (isIP(src) !== isIP(dst))
    throw new ResolveError(
      "AddressFamilyMismatch",
      `the source ${src} is IPv${isIP(src)} and the destination ${dst} is IPv${isIP(dst)}: a packet cannot cross families; pick a destination of the source's family`,
    );
}

/** A node's InternalIP, of the family of `towards` when given. */
export function internalIp(node: V1Node, towards?: string): string | undefined {
  const addrs = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
  const family = towards && isIP(towards) ? isIP(towards) : 4;
  return addrs.find((a) => isIP(a) === family) ?? addrs[0];
}

/** Every IP of a pod (status.podIPs, or status.podIP). */
export function podIps(pod: V1Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

/** ", did you mean a or b?" for names within edit distance 3 (or sharing a prefix), else "". */
function closeNames(name: string, objects: ReadonlyArray<{ metadata?: { name?: string } }>): string {
  const names = objects.map((o) => o.metadata?.name).filter((n): n is string => !!n);
  const close = names
    .map((n) => ({ n, d: distance(name, n) }))
    .filter(({ n, d }) => d <= 3 || n.startsWith(name) || name.startsWith(n))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ n }) => n);
  return close.length ? `; did you mean ${close.join(" or ")}?` : "";
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** Ready endpoint addresses of a Service from its EndpointSlices. */
export function readyEndpoints(slices: readonly V1EndpointSlice[]): Array<{ ip: string; node?: string }> {
  const out: Array<{ ip: string; node?: string }> = [];
  for (const s of slices)
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses) out.push({ ip, ...(e.nodeName ? { node: e.nodeName } : {}) });
    }
  return out;
}

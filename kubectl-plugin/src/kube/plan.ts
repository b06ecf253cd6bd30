/**
 * From the online form's request to the NetworkTrace to create: which namespace it lives in, its
 * spec, and a check of every name against the cluster first, so a typo fails at once with the
 * closest names (as the offline form suggests them) instead of after an operator round trip. What
 * this user may not read (403) is left to the operator, which resolves the trace with its own
 * rights and says what it could not find.
 */
import type { NetworkTraceSpec } from "@netmap/api";
import { UsageError } from "../cli/errors.js";
import { closestMatches } from "../cli/suggest.js";
import type { OnlineTraceRequest, PodTarget, ServiceTarget } from "../source/online.js";
import type { Cluster } from "./cluster.js";

/** A NetworkTrace to create. */
export interface PlannedTrace {
  namespace: string;
  /** metadata.generateName: "<source>-to-<destination>-". */
  generateName: string;
  spec: NetworkTraceSpec;
}

/** How long an abandoned trace (the plugin killed before it could delete it) lives after finishing. */
export const ABANDONED_TTL_SECONDS = 600;

interface Named {
  metadata?: { name?: string };
}

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

interface Service {
  spec?: { ports?: ServicePort[]; type?: string; clusterIP?: string };
}

interface Node {
  status?: { addresses?: Array<{ type: string; address: string }> };
}

/** The names of a listing, or undefined when this user may not list them. */
async function names(
  cluster: Cluster,
  path: string,
  resource: string,
  namespace?: string,
): Promise<string[] | undefined> {
  const list = await cluster.lookup<{ items?: Named[] }>(`${path}?limit=1000`, {
    verb: "list",
    resource,
    ...(namespace ? { namespace } : {}),
  });
  if (list === "forbidden" || list === "not-found") return undefined;
  return (list.items ?? []).map((i) => i.metadata?.name ?? "").filter((n) => n !== "");
}

/** "did you mean a, b?", the namespace's names, or how to list them. */
function suggestion(name: string, known: string[] | undefined, list: string): string {
  if (known === undefined) return `list them with: ${list}`;
  if (known.length === 0) return `there are none (${list})`;
  const close = closestMatches(name, known);
  if (close.length > 0) return `did you mean ${close.join(", ")}?`;
  return `there are: ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", …" : ""} (${list})`;
}

function ctx(cluster: Cluster): string {
  return cluster.connection.context ? ` --context ${cluster.connection.context}` : "";
}

async function checkPod(cluster: Cluster, pod: PodTarget, role: string): Promise<void> {
  const path = `/api/v1/namespaces/${pod.namespace}/pods`;
  const found = await cluster.lookup(`${path}/${pod.name}`, {
    verb: "get",
    resource: "pods",
    namespace: pod.namespace,
    name: pod.name,
  });
  if (found !== "not-found") return;
  const known = await names(cluster, path, "pods", pod.namespace);
  throw new UsageError(
    `${role} pod "${pod.name}" not found in namespace ${pod.namespace}`,
    suggestion(pod.name, known, `kubectl${ctx(cluster)} get pods -n ${pod.namespace}`),
  );
}

async function checkNode(cluster: Cluster, name: string, role: string): Promise<Node | undefined> {
  const found = await cluster.lookup<Node>(`/api/v1/nodes/${name}`, { verb: "get", resource: "nodes", name });
  if (found === "forbidden") return undefined;
  if (found !== "not-found") return found;
  const known = await names(cluster, "/api/v1/nodes", "nodes");
  throw new UsageError(
    `${role} node "${name}" not found`,
    suggestion(name, known, `kubectl${ctx(cluster)} get nodes`),
  );
}

/** The Service's port for `protocol`: the one asked for, else its only one; undefined when unreadable. */
async function servicePort(
  cluster: Cluster,
  svc: ServiceTarget,
  protocol: string,
  port: number | undefined,
): Promise<number | undefined> {
  const path = `/api/v1/namespaces/${svc.namespace}/services`;
  const found = await cluster.lookup<Service>(`${path}/${svc.name}`, {
    verb: "get",
    resource: "services",
    namespace: svc.namespace,
    name: svc.name,
  });
  if (found === "forbidden") return port;
  if (found === "not-found") {
    const known = await names(cluster, path, "services", svc.namespace);
    throw new UsageError(
      `Service "${svc.name}" not found in namespace ${svc.namespace}`,
      suggestion(svc.name, known, `kubectl${ctx(cluster)} get services -n ${svc.namespace}`),
    );
  }
  const proto = protocol.toUpperCase();
  const ports = (found.spec?.ports ?? []).filter((p) => (p.protocol ?? "TCP") === proto);
  const list = (found.spec?.ports ?? [])
    .map((p) => `${p.port}/${p.protocol ?? "TCP"}${p.name ? ` (${p.name})` : ""}`)
    .join(", ");
  if (port === undefined) {
    if (ports.length === 1) return ports[0]?.port;
    throw new UsageError(
      `Service ${svc.namespace}/${svc.name} has ${ports.length === 0 ? `no ${proto} port` : `several ${proto} ports`}: pass --port`,
      list ? `its ports: ${list}` : "it has no ports",
    );
  }
  if (!ports.some((p) => p.port === port))
    throw new UsageError(
      `Service ${svc.namespace}/${svc.name} has no ${proto} port ${port}`,
      list ? `its ports: ${list} (--port is the Service port, not the target port)` : "it has no ports",
    );
  return port;
}

/** A node's InternalIP (else its first address), for traces to a node. */
async function nodeAddress(cluster: Cluster, name: string): Promise<string> {
  const node = await checkNode(cluster, name, "destination");
  if (!node)
    throw new UsageError(
      `you may not read node ${name} to find its address`,
      `trace to its InternalIP instead (kubectl${ctx(cluster)} get node ${name} -o wide)`,
    );
  const addrs = node.status?.addresses ?? [];
  const ip = (addrs.find((a) => a.type === "InternalIP") ?? addrs.find((a) => a.type.endsWith("IP")))
    ?.address;
  if (!ip) throw new UsageError(`node ${name} has no address in its status`, "trace to an IP instead");
  return ip;
}

function shortName(req: OnlineTraceRequest): string {
  const part = (t: OnlineTraceRequest["destination"]): string =>
    t.kind === "ip" ? t.ip.replace(/[.:]/g, "-") : t.kind === "service" ? `svc-${t.name}` : t.name;
  const raw = `${part(req.source)}-to-${part(req.destination)}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  return `${raw.slice(0, 50).replace(/-+$/, "")}-`;
}

/** Checks the request's names against the cluster and builds the NetworkTrace to create. */
export async function planTrace(cluster: Cluster, req: OnlineTraceRequest): Promise<PlannedTrace> {
  const namespace = req.source.kind === "pod" ? req.source.namespace : cluster.namespace;
  const spec: NetworkTraceSpec = {
    source: req.source.kind === "pod" ? { pod: req.source.name } : { node: req.source.name },
    destination: { pod: "" },
    protocol: req.protocol,
    timeoutSeconds: req.timeoutSeconds,
  };
  if (req.source.kind === "pod") await checkPod(cluster, req.source, "source");
  else await checkNode(cluster, req.source.name, "source");
  let port = req.port;
  const dst = req.destination;
  const inNs = (ns: string) => (ns !== namespace ? { namespace: ns } : {});
  switch (dst.kind) {
    case "pod":
      await checkPod(cluster, dst, "destination");
      spec.destination = { pod: dst.name, ...inNs(dst.namespace) };
      break;
    case "service":
      if (req.protocol === "icmp")
        throw new UsageError(
          "a Service destination needs --protocol tcp or udp (kube-proxy forwards ports, not ICMP)",
          "trace ICMP to one of its pods instead",
        );
      port = await servicePort(cluster, dst, req.protocol, port);
      spec.destination = { service: dst.name, ...inNs(dst.namespace) };
      break;
    case "ip":
      spec.destination = { ip: dst.ip };
      break;
    case "node":
      spec.destination = { ip: await nodeAddress(cluster, dst.name) };
      break;
  }
  if (req.protocol !== "icmp") {
    if (port === undefined)
      throw new UsageError(`--port is needed for ${req.protocol}`, "e.g. --port 8080, or --protocol icmp");
    spec.port = port;
  }
  if (req.endpoint !== undefined) {
    if (dst.kind === "pod" || dst.kind === "node")
      throw new UsageError(
        `--endpoint picks one of a Service's endpoints, and the destination is a ${dst.kind}`,
        "drop --endpoint, or trace to svc/NAME or a ClusterIP",
      );
    spec.endpoint = req.endpoint;
  }
  if (!req.keep) spec.ttlSecondsAfterFinished = ABANDONED_TTL_SECONDS;
  return { namespace, generateName: shortName(req), spec };
}

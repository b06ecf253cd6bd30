/**
 * The small Service model the kube-proxy generators read: what kube-proxy itself reads from a
 * Service and its EndpointSlices, reduced to what the kernel lab needs.
 */

export type ServiceProtocol = "TCP" | "UDP" | "SCTP";

export interface ServicePort {
  /** The port's name ("" for an unnamed single port). */
  name: string;
  protocol: ServiceProtocol;
  port: number;
  targetPort: number;
  nodePort?: number;
}

export interface ServiceEndpoint {
  ip: string;
  /** Node the endpoint runs on (kube-proxy uses it for externalTrafficPolicy=Local). */
  node: string;
  ready: boolean;
}

export interface Service {
  namespace: string;
  name: string;
  clusterIP: string;
  ports: ServicePort[];
  endpoints: ServiceEndpoint[];
  /** ClientIP session affinity (spec.sessionAffinityConfig.clientIP.timeoutSeconds). */
  sessionAffinity?: { timeoutSeconds: number };
  /** Only "Cluster" is generated; "Local" is refused (see the README). */
  externalTrafficPolicy?: "Cluster" | "Local";
}

/** What kube-proxy knows about the node it runs on. */
export interface ProxyOptions {
  /** --cluster-cidr: pod traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR: string;
}

/** One Service port as kube-proxy handles it: ServicePortName plus what belongs to it. */
export interface ServicePortView {
  service: Service;
  port: ServicePort;
  /** ServicePortName.String(): "ns/name:port" ("ns/name" for an unnamed port). */
  portName: string;
  /** strings.ToLower(protocol): "tcp". */
  protocol: string;
  /** Ready endpoints as "ip:targetPort", in the order given. */
  endpoints: Array<{ ip: string; address: string }>;
}

export function servicePortViews(services: readonly Service[]): ServicePortView[] {
  const out: ServicePortView[] = [];
  for (const service of services) {
    if (service.externalTrafficPolicy === "Local") {
      throw new Error(
        `${service.namespace}/${service.name}: externalTrafficPolicy=Local is not generated (only Cluster)`,
      );
    }
    for (const port of service.ports) {
      out.push({
        service,
        port,
        portName: `${service.namespace}/${service.name}${port.name ? `:${port.name}` : ""}`,
        protocol: port.protocol.toLowerCase(),
        endpoints: service.endpoints
          .filter((e) => e.ready)
          .map((e) => ({ ip: e.ip, address: `${e.ip}:${port.targetPort}` })),
      });
    }
  }
  return out;
}

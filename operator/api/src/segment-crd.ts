/**
 * The NetworkTraceSegment CRD, generated from the NetworkTrace CRD: the packet, hop and finding
 * schemas a segment's result carries are copied from NetworkTrace's status, so the two never drift
 * (crds/netmap.io_networktracesegments.yaml is this function's output; a test checks it is current,
 * `npm run crds` rewrites it). The walk's own shapes (task, arrival, wire frame, conntrack entry,
 * how a node's walk ends) are written here, after @netmap/core's model/walk.ts.
 */
import type { Direction } from "@netmap/core";
import { type CrdDocument, rootSchema, type Schema, schemaAt } from "./schema.js";
import {
  API_VERSION,
  GROUP,
  NETWORK_TRACE_SEGMENT,
  SEGMENT_NODE_FIELD,
  SEGMENT_PHASES,
  VERSION,
} from "./types.js";

/** The model's directions (core's DIRECTIONS; a test keeps the two equal). Kept as data here so that
 * generating the CRD needs no part of the engine at run time. */
export const SEGMENT_DIRECTIONS = ["request", "reply"] as const satisfies readonly Direction[];

const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
const int = (description: string, extra: Schema = {}): Schema => ({ type: "integer", description, ...extra });
const strings = (description: string): Schema => ({ type: "array", description, items: { type: "string" } });

/** Builds the NetworkTraceSegment CRD from the NetworkTrace CRD it shares its result schemas with. */
export function segmentCrd(networkTrace: CrdDocument): CrdDocument {
  const status = schemaAt(rootSchema(networkTrace), "status");
  const packet = withFieldDescriptions(
    withDescription(schemaAt(status, "packet"), "A packet: protocol, addresses, ports."),
    PACKET_FIELDS,
  );
  const hop = schemaAt(status, "hops", "[]");
  const finding = schemaAt(status, "findings", "[]");
  const verdict = schemaAt(status, "verdict");
  const outer = withFieldDescriptions(
    withDescription(
      schemaAt(hop, "outer"),
      "The outer header of an encapsulated packet (VXLAN: UDP between VTEPs).",
    ),
    OUTER_FIELDS,
  );
  const direction: Schema = {
    type: "string",
    enum: [...SEGMENT_DIRECTIONS],
    description: "The request (client to server) or its reply.",
  };

  const wireFrame: Schema = {
    type: "object",
    description: "A packet between nodes: exactly what is on the wire.",
    required: ["packet", "to"],
    properties: {
      packet: withDescription(packet, "The IP packet (the inner one, when encapsulated)."),
      outer,
      to: str("The underlay address the frame is sent to: the route's next hop, or the remote VTEP."),
      dstMac: str("Destination MAC of the (inner) Ethernet frame, when known."),
      size: int("The largest packet the sender emits (the sending pod's interface MTU).", { minimum: 0 }),
    },
  };
  const arrival: Schema = {
    type: "object",
    description:
      "Where the packet enters the node's walk: sent by a local process (kind local), or received from the wire by the host netns (kind wire).",
    required: ["kind"],
    "x-kubernetes-validations": [
      { rule: "self.kind != 'local' || has(self.packet)", message: "a local arrival needs packet" },
      { rule: "self.kind != 'wire' || has(self.frame)", message: "a wire arrival needs frame" },
    ],
    properties: {
      kind: {
        type: "string",
        enum: ["local", "wire"],
        description: "local: sent on this node; wire: received.",
      },
      packet: withDescription(packet, "local: the packet as the process sends it."),
      netns: str(
        'local: the sending netns ("host" for the node\'s own); default: the one holding packet.src.',
      ),
      size: int("local: the largest packet the sender emits.", { minimum: 0 }),
      frame: withDescription(wireFrame, "wire: the frame as it arrives."),
      device: str("wire: the receiving device of the host netns; default: the one holding frame.to."),
    },
  };
  const conntrackEntry: Schema = {
    type: "object",
    description: "What conntrack keeps in one netns for the connection: the reply tuple and the NAT to undo.",
    required: ["node", "netns", "original", "reply", "dnat", "snat", "hop"],
    properties: {
      node: str("The node."),
      netns: str("The netns whose conntrack holds the entry."),
      original: withDescription(packet, "The request as it entered this netns (before NAT here)."),
      reply: withDescription(packet, "The reply that matches: the request as it left this netns, reversed."),
      dnat: { type: "boolean", description: "The request's destination was translated here." },
      snat: { type: "boolean", description: "The request's source was translated here." },
      hop: int("The hop where the request was tracked here."),
    },
  };
  const conntrack: Schema = {
    type: "array",
    description: "Connection-tracking entries the request created on the node.",
    items: conntrackEntry,
  };
  const departure: Schema = {
    type: "object",
    description: "The frame as it leaves the node, and the node it goes to.",
    required: ["frame", "device"],
    properties: {
      frame: wireFrame,
      device: str("The host netns device it leaves by."),
      node: str("The node that owns frame.to per the cluster facts; absent when no known node does."),
    },
  };
  const end: Schema = {
    type: "object",
    description: "How the node's walk ended: a verdict here, or a departure to the next node.",
    required: ["kind"],
    "x-kubernetes-validations": [
      {
        rule: "self.kind != 'verdict' || (has(self.verdict) && has(self.reason))",
        message: "a verdict end needs verdict and reason",
      },
      { rule: "self.kind != 'departure' || has(self.departure)", message: "a departure end needs departure" },
    ],
    properties: {
      kind: { type: "string", enum: ["verdict", "departure"], description: "verdict or departure." },
      verdict,
      reason: str("Why, for a person."),
      missing: strings("For Unknown: what state was missing."),
      departure,
    },
  };
  const task: Schema = {
    type: "object",
    description: "One node's walk, as the operator hands it to that node's probe.",
    required: ["step", "node", "direction", "arrival", "firstHop", "conntrack"],
    properties: {
      step: int("Position of this walk in the trace, from 0.", { minimum: 0 }),
      node: str("The node that walks."),
      direction,
      arrival,
      firstHop: int("Global index of this walk's first hop.", { minimum: 0 }),
      endpoint: {
        description: "Which Service endpoint to follow: an index in rule order, or ip:port.",
        "x-kubernetes-int-or-string": true,
      },
      conntrack: withDescription(
        conntrack,
        "Reply only: the conntrack entries the request created on this node.",
      ),
      connection: withDescription(
        packet,
        "Reply only: the request as the client sent it (the client socket's connection).",
      ),
    },
  };
  const facts: Schema = {
    type: "object",
    description: "The cluster facts the walk needs (only the API server knows them).",
    required: ["pods", "nodes", "services"],
    properties: {
      pods: {
        type: "array",
        description:
          "Pods the walk can meet: those on this node, the trace's source and destination, the Service's endpoints.",
        items: {
          type: "object",
          required: ["namespace", "name", "ips", "node"],
          properties: {
            namespace: str("The pod's namespace."),
            name: str("The pod's name."),
            ips: strings("Its pod IPs."),
            node: str("The node it runs on."),
          },
        },
      },
      nodes: {
        type: "array",
        description: "Every node: which node owns a next-hop or VTEP address.",
        items: {
          type: "object",
          required: ["name", "addresses", "podCIDRs"],
          properties: {
            name: str("The node's name."),
            addresses: strings("Its InternalIP (underlay) addresses."),
            podCIDRs: strings("Its pod CIDRs."),
          },
        },
      },
      services: {
        type: "array",
        description: "The Services the path can meet (the destination Service).",
        items: {
          type: "object",
          required: ["namespace", "name", "type", "clusterIPs", "ports", "endpoints"],
          properties: {
            namespace: str("The Service's namespace."),
            name: str("The Service's name."),
            type: { type: "string", enum: ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] },
            clusterIPs: strings("Its ClusterIPs."),
            ports: {
              type: "array",
              items: {
                type: "object",
                required: ["protocol", "port"],
                properties: {
                  name: str("The port's name."),
                  protocol: { type: "string", enum: ["TCP", "UDP", "SCTP"] },
                  port: int("The Service port."),
                  targetPort: { "x-kubernetes-int-or-string": true, description: "The endpoints' port." },
                  nodePort: int("The NodePort, if any."),
                },
              },
            },
            endpoints: strings("Ready endpoint addresses (from EndpointSlices)."),
          },
        },
      },
    },
  };
  const result: Schema = {
    type: "object",
    description:
      "The node's part of the trace: its hops and findings (global hop numbers), and how it ended.",
    required: ["step", "node", "direction", "arrival", "hops", "findings", "end", "conntrack"],
    properties: {
      step: int("The task's step.", { minimum: 0 }),
      node: str("The node that walked."),
      direction,
      arrival,
      hops: { type: "array", description: "The hops on this node, in order.", items: hop },
      findings: { type: "array", description: "What is wrong or risky on this node's part.", items: finding },
      end,
      conntrack: withDescription(
        conntrack,
        "The conntrack entries the request created on this node (empty for the reply).",
      ),
    },
  };

  const spec: Schema = {
    type: "object",
    description: "Written once by the netmap operator; immutable.",
    required: ["nodeName", "trace", "task", "facts"],
    "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "spec is immutable" }],
    properties: {
      nodeName: str(
        "The node whose probe walks this part. Probes select their work on it (field selector spec.nodeName); an admission policy can compare it with the authentication.kubernetes.io/node-name claim of the writer's token.",
        { minLength: 1, maxLength: 253 },
      ),
      trace: {
        type: "object",
        description: "The NetworkTrace this is a part of (also the owner reference).",
        required: ["name", "uid"],
        properties: { name: str("The NetworkTrace's name."), uid: str("The NetworkTrace's uid.") },
      },
      task,
      facts,
    },
  };
  const statusSchema: Schema = {
    type: "object",
    description: "Written only by the probe of spec.nodeName, through the status subresource.",
    required: ["phase"],
    "x-kubernetes-validations": [
      { rule: "self.phase != 'Succeeded' || has(self.result)", message: "a Succeeded segment needs result" },
      {
        rule: "self.phase != 'Failed' || has(self.message)",
        message: "a Failed segment needs message (why)",
      },
    ],
    properties: {
      phase: {
        type: "string",
        enum: [...SEGMENT_PHASES],
        description: "Succeeded: result holds the walk. Failed: the probe could not walk; message says why.",
      },
      message: str("Why the probe could not walk, and what to do next."),
      result,
      probe: str("The probe that answered (its pod name)."),
      startTime: str("When the probe started the walk.", { format: "date-time" }),
      completionTime: str("When the probe finished it.", { format: "date-time" }),
      timings: {
        type: "object",
        description: "What the walk cost on the node.",
        required: ["collectMs", "walkMs", "rounds"],
        properties: {
          collectMs: { type: "number", description: "Reading the node's kernel state, ms." },
          walkMs: { type: "number", description: "Walking, with what it read on demand, ms." },
          rounds: int("Walk rounds (each may read what the previous one missed)."),
        },
      },
    },
  };

  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${NETWORK_TRACE_SEGMENT.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: NETWORK_TRACE_SEGMENT.kind,
        listKind: `${NETWORK_TRACE_SEGMENT.kind}List`,
        plural: NETWORK_TRACE_SEGMENT.plural,
        singular: NETWORK_TRACE_SEGMENT.kind.toLowerCase(),
        shortNames: [NETWORK_TRACE_SEGMENT.shortName],
        categories: ["netmap"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          selectableFields: [{ jsonPath: `.${SEGMENT_NODE_FIELD}` }],
          additionalPrinterColumns: [
            { name: "Trace", type: "string", jsonPath: ".spec.trace.name" },
            { name: "Step", type: "integer", jsonPath: ".spec.task.step" },
            { name: "Node", type: "string", jsonPath: ".spec.nodeName" },
            { name: "Direction", type: "string", jsonPath: ".spec.task.direction" },
            { name: "Phase", type: "string", jsonPath: ".status.phase" },
            { name: "Ended", type: "string", jsonPath: ".status.result.end.kind", priority: 1 },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: `One node's part of one NetworkTrace (${API_VERSION}): the operator writes spec (the node's task), the probe of spec.nodeName writes status (its walk). Owned by the NetworkTrace; deleted with it.`,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec,
                status: statusSchema,
              },
            },
          },
        },
      ],
    },
  };
}

const PACKET_FIELDS: Record<string, string> = {
  protocol: "tcp, udp or icmp.",
  src: "Source address.",
  dst: "Destination address.",
  sport: "Source port (tcp, udp).",
  dport: "Destination port (tcp, udp).",
};

const OUTER_FIELDS: Record<string, string> = {
  src: "Outer source address (the local VTEP).",
  dst: "Outer destination address (the remote VTEP).",
  protocol: "udp (VXLAN, Geneve) or ipip.",
  dport: "Outer UDP destination port.",
  vni: "VXLAN/Geneve network identifier.",
};

/** `s` with a description on each of its properties that has none (NetworkTrace's status leaves some out). */
function withFieldDescriptions(s: Schema, descriptions: Record<string, string>): Schema {
  const properties: Record<string, Schema> = {};
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const d = sub.description ?? descriptions[k];
    properties[k] = d ? { ...sub, description: d } : sub;
  }
  return { ...s, properties };
}

function withDescription(s: Schema, description: string): Schema {
  return { ...s, description };
}

/**
 * @kubernetes/client-node 1.x makes a new https.Agent for every request (KubeConfig.createAgent,
 * called per request by applySecurityAuthentication), without keep-alive: every API call pays a TCP
 * connection and a TLS handshake, on both sides. With 100 traces at once that was most of the
 * operator's and the API server's time. This reuses one keep-alive agent per set of TLS options
 * (cluster CA, client certificate, key), so connections are pooled; credentials sent as headers
 * (tokens) are unaffected.
 */

import { createHash } from "node:crypto";
import type { Agent as HttpAgent } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";

type CreateAgent = (cluster: unknown, options: Record<string, unknown>) => HttpAgent;

export function pooledConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createAgent: CreateAgent };
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, HttpAgent>();
  target.createAgent = (cluster, options) => {
    const key = createHash("sha256")
      .update(
        JSON.stringify([
          cluster,
          options.ca,
          options.cert,
          options.key,
          options.pfx,
          options.rejectUnauthorized,
        ]),
      )
      .digest("hex");
    let agent = agents.get(key);
    if (!agent) {
      agent = original(cluster, { ...options, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
  return kc;
}

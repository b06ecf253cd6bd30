import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { pooledConnections } from "./keep-alive.js";

function kubeconfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", skipTLSVerify: false }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("pooledConnections", () => {
  it("gives every request of a KubeConfig the same keep-alive agent (client-node 1.x makes one per request)", async () => {
    const plain = kubeconfig();
    const pooled = pooledConnections(kubeconfig());
    const agentOf = async (kc: KubeConfig) => {
      const opts: { agent?: unknown } = {};
      await kc.applyToFetchOptions(opts as never).then((o) => Object.assign(opts, o));
      return opts.agent as { keepAlive?: boolean } | undefined;
    };
    expect(await agentOf(plain)).not.toBe(await agentOf(plain));
    const a = await agentOf(pooled);
    expect(a).toBe(await agentOf(pooled));
    expect(a?.keepAlive).toBe(true);
  });
});

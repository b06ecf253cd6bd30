/** Kubeconfig files for the local control plane (JSON, which kubectl and client libraries read as YAML). */
import { writeFile } from "node:fs/promises";

export type Credentials = { token: string } | { clientCertificate: string; clientKey: string };

export interface KubeconfigSpec {
  server: string;
  caFile: string;
  userName: string;
  credentials: Credentials;
  contextName?: string;
  namespace?: string;
}

export function kubeconfigObject(spec: KubeconfigSpec): Record<string, unknown> {
  const context = spec.contextName ?? `${spec.userName}@netmap-local`;
  const user =
    "token" in spec.credentials
      ? { token: spec.credentials.token }
      : {
          "client-certificate": spec.credentials.clientCertificate,
          "client-key": spec.credentials.clientKey,
        };
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "netmap-local", cluster: { server: spec.server, "certificate-authority": spec.caFile } },
    ],
    users: [{ name: spec.userName, user }],
    contexts: [
      {
        name: context,
        context: {
          cluster: "netmap-local",
          user: spec.userName,
          ...(spec.namespace ? { namespace: spec.namespace } : {}),
        },
      },
    ],
    "current-context": context,
    preferences: {},
  };
}

/** Writes the kubeconfig (mode 0600: it holds a credential) and returns its path. */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<string> {
  await writeFile(path, `${JSON.stringify(kubeconfigObject(spec), null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** /metrics, /healthz and /readyz on one small HTTP server. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Ready: caches synced (a standby replica is ready too: it can take over at once). */
  ready: () => boolean;
}

export async function startHealthServer(
  opts: HealthServerOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ok = opts.ready();
      res
        .writeHead(ok ? 200 : 503, { "content-type": "text/plain" })
        .end(ok ? "ok\n" : "caches not synced\n");
    } else if (path === "/metrics") {
      opts.registry
        .metrics()
        .then((body) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(body))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
    } else {
      res
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: try /metrics, /healthz, /readyz\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

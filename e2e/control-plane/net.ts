/** Loopback ports and bounded HTTP(S) readiness checks. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no free port on 127.0.0.1"))));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export interface HttpResponse {
  status: number;
  body: string;
}

export interface TlsClient {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** One GET, bounded by timeoutMs; TLS with the given CA and client certificate for https URLs. */
export function get(url: string, timeoutMs: number, tls?: TlsClient): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const onResponse = (res: import("node:http").IncomingMessage): void => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    };
    const req =
      u.protocol === "https:"
        ? httpsRequest(u, { method: "GET", timeout: timeoutMs, ...tls }, onResponse)
        : httpRequest(u, { method: "GET", timeout: timeoutMs }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Rejects early when this resolves (e.g. the process exited). */
  abort?: Promise<string>;
}

/**
 * Polls `probe` until it returns true; rejects after timeoutMs (with the last failure) or as soon as
 * `abort` resolves.
 */
export async function waitFor(what: string, probe: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "not ready";
  let aborted: string | undefined;
  void opts.abort?.then((why) => {
    aborted = why;
  });
  for (;;) {
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    try {
      if (await probe()) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    if (Date.now() >= deadline)
      throw new Error(`${what}: not ready after ${opts.timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/**
 * A TCP relay in front of the API server, for faults between a client and the server: cut() drops
 * every connection at once (a watch cut mid-stream, as a load balancer or a flaky network does);
 * refuse(ms) also refuses new connections for a while (the server unreachable), then listens again
 * on the same port. TLS passes through untouched (the server's certificate is for 127.0.0.1).
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

export class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections relayed so far. */
  connections = 0;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => s.destroy());
        s.on("close", () => {
          this.sockets.delete(s);
          (s === client ? upstream : client).destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Destroys every open connection (the listener stays: clients reconnect at once). Returns how many. */
  cut(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  /** Cuts every connection and refuses new ones for `ms`, then accepts again on the same port. */
  async refuse(ms: number): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, ms));
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

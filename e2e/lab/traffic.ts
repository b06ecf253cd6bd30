/**
 * Real packets between lab pods, and the kernel's own counters: `ip -s -j link` per device, a
 * bounded ping, and a bounded TCP exchange with a tiny server started in the destination pod.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { trackChild } from "./cleanup.js";
import { inNetns, LabError, run, runOk } from "./exec.js";

export interface LinkCounters {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
}

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

/** Per-interface counters of a netns, from `ip -s -j link show`. */
export async function linkCounters(netns: string): Promise<Map<string, LinkCounters>> {
  const out = await runOk(inNetns(netns, ["ip", "-s", "-j", "link", "show"]));
  const parsed: unknown = JSON.parse(out);
  const map = new Map<string, LinkCounters>();
  if (!Array.isArray(parsed)) return map;
  for (const l of parsed as Array<Record<string, unknown>>) {
    if (typeof l.ifname !== "string") continue;
    const stats = (l.stats64 ?? l.stats ?? {}) as Record<string, Record<string, unknown> | undefined>;
    map.set(l.ifname, {
      rxPackets: num(stats.rx?.packets),
      txPackets: num(stats.tx?.packets),
      rxBytes: num(stats.rx?.bytes),
      txBytes: num(stats.tx?.bytes),
    });
  }
  return map;
}

export interface PingOptions {
  count: number;
  /** ICMP payload size (`ping -s`). */
  size?: number;
  /** Set Don't Fragment (`ping -M do`). */
  df?: boolean;
}

/** Pings from a netns: `ping -c N -W 1 -i 0.2`, bounded; returns how many replies came back. */
export async function pingFrom(netns: string, toIp: string, o: PingOptions): Promise<number> {
  const count = Math.max(1, Math.min(o.count, 100));
  const deadline = Math.ceil(count * 0.2) + 2;
  const argv = ["ping", "-n", "-q", "-c", String(count), "-W", "1", "-i", "0.2", "-w", String(deadline)];
  if (o.size !== undefined) argv.push("-s", String(o.size));
  if (o.df) argv.push("-M", "do");
  argv.push(toIp);
  const r = await run(inNetns(netns, argv), { timeoutMs: (deadline + 5) * 1000 });
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
  if (!m) throw new LabError(`ping from ${netns} to ${toIp} printed no summary: ${r.stdout} ${r.stderr}`);
  return Number(m[2]);
}

function script(name: string): string {
  // Source tree (vitest runs e2e/lab/*.ts) or compiled tree (e2e/dist/lab/*.js).
  for (const rel of [`./${name}`, `../../lab/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new LabError(`cannot find e2e/lab/${name}`);
}

export interface TcpProbeResult {
  /** Connections that got the server's answer. */
  connected: number;
  failed: number;
  /** Connections the servers accepted (summed over all servers). */
  accepted: number;
  errors: string[];
  /** Per server identity (its pod IP, for servers started by tcpProbeServers): connections it answered. */
  answeredBy: Record<string, number>;
}

/** A TCP server to start for a probe: the netns it listens in, and what it answers with. */
export interface ProbeServer {
  netns: string;
  /** Sent back after "pong " so the client knows which server answered (e.g. the pod IP). */
  identity?: string;
}

interface RunningServer {
  child: ChildProcess;
  out: () => string;
  exited: Promise<void>;
}

function startServer(
  labName: string,
  s: ProbeServer,
  port: number,
  lifetime: number,
  n: number,
): RunningServer {
  const args = [
    `--net=/var/run/netns/${s.netns}`,
    "--",
    process.execPath,
    script("tcp-server.mjs"),
    String(port),
    String(lifetime),
    String(n),
    ...(s.identity ? [s.identity] : []),
  ];
  const child = spawn("nsenter", args, { stdio: ["ignore", "pipe", "pipe"] });
  trackChild(labName, child);
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return { child, out: () => (err ? `${out}\n${err}` : out), exited };
}

async function waitListening(s: RunningServer, netns: string): Promise<void> {
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = setInterval(() => {
        if (s.out().includes("listening")) {
          clearInterval(check);
          resolve(true);
        }
      }, 20);
      void s.exited.then(() => {
        clearInterval(check);
        resolve(false);
      });
    }),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
  ]);
  if (!ready) throw new LabError(`tcp server in ${netns} did not start: ${s.out().trim()}`);
}

/**
 * Starts the tiny TCP server in `serverNetns`, runs `connections` sequential exchanges from
 * `fromNetns` to `toIp:port`, stops the server. Everything bounded; the server is always killed.
 */
export async function tcpProbeFrom(
  labName: string,
  fromNetns: string,
  serverNetns: string,
  toIp: string,
  port: number,
  connections: number,
): Promise<TcpProbeResult> {
  return tcpProbeServers(labName, fromNetns, [{ netns: serverNetns }], toIp, port, connections);
}

/**
 * Like tcpProbeFrom, with a server in each of `servers` at once (a Service's endpoints): each
 * answers with its identity, so the result tells which server every connection reached. With no
 * servers, only the client runs (for destinations that must refuse).
 */
export async function tcpProbeServers(
  labName: string,
  fromNetns: string,
  servers: readonly ProbeServer[],
  toIp: string,
  port: number,
  connections: number,
  /** Where the servers listen, when a DNAT changes the port (a Service's targetPort). Default: `port`. */
  serverPort: number = port,
): Promise<TcpProbeResult> {
  const n = Math.max(1, Math.min(connections, 200));
  const perConnMs = 1000;
  const lifetime = n * perConnMs + 10_000;
  const running: RunningServer[] = [];
  try {
    for (const s of servers.slice(0, 20)) {
      const r = startServer(labName, s, serverPort, lifetime, n);
      running.push(r);
      await waitListening(r, s.netns);
    }
    const clientOut = await runOk(
      inNetns(fromNetns, [
        process.execPath,
        script("tcp-client.mjs"),
        toIp,
        String(port),
        String(n),
        String(perConnMs),
      ]),
      { timeoutMs: n * perConnMs + 10_000 },
    );
    const client = JSON.parse(clientOut) as {
      connected: number;
      failed: number;
      errors: string[];
      answeredBy?: Record<string, number>;
    };
    for (const r of running) r.child.kill("SIGTERM");
    await Promise.race([Promise.all(running.map((r) => r.exited)), new Promise((r) => setTimeout(r, 3_000))]);
    let accepted = 0;
    for (const r of running) {
      const m = /\{"accepted":(\d+)\}/.exec(r.out());
      accepted += m ? Number(m[1]) : 0;
    }
    return { ...client, answeredBy: client.answeredBy ?? {}, accepted };
  } finally {
    for (const r of running) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
    }
  }
}

/**
 * The offline trace source: snapshots on disk (from `kubectl netmap snapshot`) → node states and
 * cluster facts → the engine, in-process. No cluster needed.
 */
import type { NodeCapture, NodeState, Packet, Protocol, TraceResult } from "@netmap/core";
import { CliError, isHintedError, TraceFailedError, UsageError, usageErrorFrom } from "../cli/errors.js";
import { loadEngine, loadProbe, type Probe, type TraceEngine, type TraceInput } from "./engine.js";
import { type KnownHost, resolveEndpointArg } from "./resolve.js";
import { type ProgressListener, progressReporter, type TraceSource } from "./types.js";

/** What `kubectl netmap trace --snapshots` asks for. */
export interface OfflineTraceRequest {
  snapshots: string;
  src: string;
  dst: string;
  protocol: Protocol;
  port?: number;
  endpoint?: number | string;
  /** Namespace for bare pod names (`-n`). */
  namespace?: string;
}

/** Injection points for tests; the defaults load @netmap/probe and @netmap/core. */
export interface OfflineDeps {
  probe?: () => Promise<Pick<Probe, "readSnapshotDir">>;
  engine?: () => Promise<TraceEngine>;
}

/** Reads a snapshot directory, turning the probe's SnapshotError into a UsageError with its hint. */
export async function readSnapshots(
  dir: string,
  probe: () => Promise<Pick<Probe, "readSnapshotDir">> = loadProbe,
): Promise<NodeCapture[]> {
  const { readSnapshotDir } = await probe();
  try {
    const captures = await readSnapshotDir(dir);
    if (captures.length === 0) {
      throw new UsageError(
        `no node snapshots in ${dir}`,
        "write one with: kubectl netmap snapshot --node <name> -o <dir>",
      );
    }
    return captures;
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (isHintedError(err)) throw usageErrorFrom(err);
    throw new UsageError(
      `cannot read snapshots in ${dir}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** A TraceSource over snapshot directories. */
export class OfflineSnapshotSource implements TraceSource {
  readonly description: string;

  constructor(
    private readonly req: OfflineTraceRequest,
    private readonly deps: OfflineDeps = {},
  ) {
    this.description = `snapshots in ${req.snapshots}`;
  }

  async run(onProgress: ProgressListener): Promise<TraceResult> {
    const report = progressReporter(onProgress);
    report(`reading ${this.description}`);
    const captures = await readSnapshots(this.req.snapshots, this.deps.probe);
    const engine = await (this.deps.engine ?? loadEngine)();
    const nodes = captures.map((c) => {
      report("assembling node state", c.manifest.node);
      try {
        return engine.assembleNodeState(c);
      } catch (err) {
        if (isHintedError(err)) throw usageErrorFrom(err);
        const why = err instanceof Error ? err.message : String(err);
        throw new UsageError(`the snapshot of node ${c.manifest.node} cannot be used: ${why}`);
      }
    });
    const facts = engine.clusterFacts(captures, nodes);
    const ns = this.req.namespace !== undefined ? { namespace: this.req.namespace } : {};
    const hosts = knownHosts(nodes);
    const src = resolveEndpointArg(this.req.src, "source", captures, { ...ns, facts, hosts });
    const dst = resolveEndpointArg(this.req.dst, "destination", captures, { ...ns, facts, hosts });
    const packet: Packet = { protocol: this.req.protocol, src: src.ip, dst: dst.ip };
    const dport = this.req.port ?? dst.port;
    if (this.req.protocol !== "icmp") {
      if (dport === undefined) {
        throw new UsageError(
          `--port is needed for ${this.req.protocol}`,
          "e.g. --port 80, or --protocol icmp",
        );
      }
      packet.dport = dport;
    }
    const input: TraceInput = { nodes, facts, packet };
    if (this.req.endpoint !== undefined) input.endpoint = this.req.endpoint;
    report(`tracing ${src.label} → ${dst.label}`, src.pod?.node ?? src.host);
    try {
      return engine.trace(input);
    } catch (err) {
      throw new TraceFailedError(
        `the trace engine failed: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
  }
}

/** Each node's host netns addresses (global scope), those on its uplinks before those serving pods. */
function knownHosts(nodes: readonly NodeState[]): KnownHost[] {
  const servesPods = new Set(["bridge", "vxlan", "geneve", "dummy"]);
  return nodes.map((n) => {
    const global = n.host.addresses.filter((a) => a.scope === "global");
    const kind = (ifindex: number) => n.host.links.find((l) => l.ifindex === ifindex)?.kind ?? "other";
    const uplink = global.filter((a) => !servesPods.has(kind(a.ifindex)));
    const rest = global.filter((a) => servesPods.has(kind(a.ifindex)));
    return { node: n.node, ips: [...uplink, ...rest].map((a) => a.local) };
  });
}

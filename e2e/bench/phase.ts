/**
 * One measured phase of the benchmark, run in a fresh `node` process so phases never share a heap:
 * `node phase.js <phase> <json args>`. Prints one JSON line: the phase's own wall time (module
 * loading and reading input files excluded) and the process's RSS high-water mark, plus what the
 * phase found.
 *
 * The high-water mark is `VmHWM` from /proc/self/status, not `process.resourceUsage().maxRSS`:
 * Linux carries ru_maxrss across fork and execve, so a child spawned by a 300 MB parent reports
 * maxRSS ≥ 300 MB however little it uses itself (measured: 291 MB maxRSS vs 41 MB VmHWM for an
 * empty `node -e`). VmHWM belongs to the process's own address space, which execve replaces.
 */
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import {
  assembleNodeState,
  clusterFactsFromNodes,
  LazyNftChains,
  type LazyNftRuleset,
  type NodeState,
  type Packet,
  parseIptablesSave,
  parseNftIndexed,
  parseNftJson,
  SOURCES,
  type SourceName,
  type TraceResult,
  trace,
} from "@netmap/core";
import { collectNode, collectNodeForTrace, FileText, indexNftFile, traceOnDemand } from "@netmap/probe";

export interface PhaseNode {
  name: string;
  /** Host netns path of the node. */
  netns: string;
  /** Pod IPs whose netns the trace needs on this node. */
  podIps: string[];
}

export interface TraceArgs {
  nodes: PhaseNode[];
  packet: Packet;
  /** Sources of the dump-based collection (the whole-ruleset dumps it runs). */
  dumps?: SourceName[];
}

export interface PhaseReport {
  phase: string;
  ms: number;
  maxRssKiB: number;
  detail: Record<string, string | number>;
}

function summary(r: TraceResult): Record<string, string | number> {
  const dnat = r.hops.find((h) => h.action === "dnat");
  return {
    verdict: r.verdict,
    hops: r.hops.length,
    dnatTo: dnat?.packet ? `${dnat.packet.dst}:${dnat.packet.dport ?? ""}` : "-",
    reason: r.reason.slice(0, 120),
  };
}

async function run(phase: string, arg: string): Promise<PhaseReport> {
  const detail: Record<string, string | number> = {};
  let t0 = 0;
  switch (phase) {
    case "baseline":
      t0 = performance.now();
      break;
    case "parse-iptables": {
      const text = readFileSync(arg, "latin1");
      t0 = performance.now();
      const rs = parseIptablesSave(text);
      detail.rules = [...rs.tables.values()].reduce((n, t) => n + t.ruleCount, 0);
      detail.chains = [...rs.tables.values()].reduce((n, t) => n + t.chainNames().length, 0);
      break;
    }
    case "parse-nft": {
      const text = readFileSync(arg, "latin1");
      t0 = performance.now();
      const rs = parseNftJson(text);
      // Counted from the index: iterating chains.values() would decode every chain.
      let chains = 0;
      let rules = 0;
      let elements = 0;
      for (const t of rs.tables) {
        chains += t.chains.size;
        for (const name of t.chains.keys())
          rules += t.chains instanceof LazyNftChains ? t.chains.ruleCount(name) : 0;
        for (const s of t.sets.values()) elements += s.elements.length;
      }
      Object.assign(detail, { chains, rules, elements, decoded: rs.stats().chainsParsed });
      break;
    }
    case "parse-nft-file": {
      // The probe's whole-table path (nft-file.ts): the listing stays in its file, indexed in 1 MiB
      // chunks, and chains are decoded from the file when asked for.
      const fd = openSync(arg, "r");
      const size = fstatSync(fd).size;
      t0 = performance.now();
      const rs = parseNftIndexed(new FileText(fd, size), indexNftFile(fd, size));
      let chains = 0;
      let elements = 0;
      for (const t of rs.tables) {
        chains += t.chains.size;
        for (const s of t.sets.values()) elements += s.elements.length;
      }
      Object.assign(detail, { chains, elements, decoded: rs.stats().chainsParsed });
      closeSync(fd);
      break;
    }
    case "trace-dump": {
      // Today's collector, restricted to one whole-ruleset dump per family: collect + parse + walk.
      const a = JSON.parse(arg) as TraceArgs;
      const dumps = a.dumps ?? [];
      const sources = SOURCES.map((s) => s.name).filter(
        (s) => !(s === "iptables-save" || s === "nft-ruleset") || dumps.includes(s),
      );
      t0 = performance.now();
      const nodes: NodeState[] = await Promise.all(
        a.nodes.map(async (n) =>
          assembleNodeState(
            await collectNode({ node: n.name, hostNetns: n.netns, podIps: n.podIps, sources }),
          ),
        ),
      );
      const r = trace({ nodes, facts: clusterFactsFromNodes(nodes), packet: a.packet });
      Object.assign(detail, summary(r));
      break;
    }
    case "trace-on-demand": {
      const a = JSON.parse(arg) as TraceArgs;
      t0 = performance.now();
      const got = await Promise.all(
        a.nodes.map((n) => collectNodeForTrace({ node: n.name, hostNetns: n.netns, podIps: n.podIps })),
      );
      const tCollected = performance.now();
      const nodes = got.map((g) => g.state);
      const r = await traceOnDemand(
        { nodes, facts: clusterFactsFromNodes(nodes), packet: a.packet },
        got.flatMap((g) => g.onDemand),
      );
      Object.assign(detail, summary(r.result), {
        rounds: r.rounds,
        iptablesS: got.reduce((n, g) => n + (g.iptables?.commands ?? 0), 0),
        nftNetlink: got.reduce((n, g) => n + (g.nft?.commands ?? 0), 0),
        nftFallbacks: got.flatMap((g) => g.nft?.fallbacks() ?? []).join("; ") || "none",
        collectMs: Math.round(tCollected - t0),
        ipMs: got.map((g) => Math.round(g.timings.collect)).join("/"),
        nftMs: got.map((g) => Math.round(g.timings.netfilter)).join("/"),
        nftChainsDecoded: got
          .map(
            (g) =>
              (g.state.host.netfilter.nftables as Partial<LazyNftRuleset> | undefined)?.stats?.()
                .chainsParsed ?? 0,
          )
          .join("/"),
      });
      for (const g of got) g.release();
      break;
    }
    default:
      throw new Error(`unknown phase ${phase}`);
  }
  const ms = performance.now() - t0;
  return { phase, ms, maxRssKiB: highWaterRssKiB(), detail };
}

/** This process's own peak RSS in KiB (VmHWM; see the module comment). */
export function highWaterRssKiB(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "latin1"));
  if (!m?.[1]) throw new Error("no VmHWM in /proc/self/status: the bench needs Linux /proc");
  return Number(m[1]);
}

const [phase, arg] = process.argv.slice(2);
if (phase !== undefined) {
  run(phase, arg ?? "").then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

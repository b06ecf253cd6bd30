/**
 * `npm run bench`: a kube-proxy node with 10,000 Services × 5 endpoints, in iptables mode and in
 * nftables mode, loaded into a node netns of a small kernel lab (hermetic: nothing in the root
 * netns; the lab is destroyed at the end, also on failure or Ctrl-C). Prints, side by side, the time
 * the kernel tools take to dump the ruleset, the parser's time on that dump, a whole trace
 * pod → ClusterIP through that node (collect + parse + walk; dump-based and demand-driven), and the
 * peak RSS of each measured process (each phase runs in a fresh child process). Not a test: it
 * prints figures and PASS/MISS per target of issue 5.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { writeFile as writeFileAsync } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Packet } from "@netmap/core";
import { PROBE_NODE_FLAGS } from "@netmap/probe";
import { run as runCmd, runOk } from "../lab/exec.js";
import { createLab, type Lab } from "../lab/lab.js";
import type { PhaseReport, TraceArgs } from "./phase.js";
import { clusterIpOf, SERVICE_PORT, TARGET_PORT, writeRulesetFiles } from "./ruleset.js";

const SERVICES = 10_000;
const ENDPOINTS = 5;
const TRACED = 5_000;
const REPEAT = Math.max(3, Number(process.env.BENCH_REPEAT ?? 3) || 3);
const PHASE_TIMEOUT_MS = 180_000;
const HERE = dirname(fileURLToPath(import.meta.url));

interface Sample {
  ms: number[];
  rssKiB: number[];
  detail?: Record<string, string | number>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const min = (xs: readonly number[]): number => Math.min(...xs);
const max = (xs: readonly number[]): number => Math.max(...xs);

/** Runs a command with stdout into a file (the dump never passes through this process); wall ms. */
function timeToFile(argv: readonly string[], out: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fd = openSync(out, "w");
    const t0 = performance.now();
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, {
      stdio: ["ignore", fd, "pipe"],
      env: { PATH: process.env.PATH ?? "", LC_ALL: "C" },
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), PHASE_TIMEOUT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      closeSync(fd);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      closeSync(fd);
      if (code !== 0) reject(new Error(`\`${argv.join(" ")}\` exited ${code}: ${stderr.trim()}`));
      else resolve(performance.now() - t0);
    });
  });
}

/** V8 flags of a phase: the probe's own (PROBE_NODE_FLAGS) unless a row says "default V8 flags". */
type Flags = readonly string[];

function phase(name: string, arg: string, flags: Flags): Promise<PhaseReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, join(HERE, "phase.js"), name, arg], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), PHASE_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line) reject(new Error(`phase ${name} failed (exit ${code}): ${stderr.trim()}`));
      else resolve(JSON.parse(line) as PhaseReport);
    });
  });
}

async function repeatPhase(name: string, arg: string, flags: Flags = PROBE_NODE_FLAGS): Promise<Sample> {
  const s: Sample = { ms: [], rssKiB: [] };
  for (let i = 0; i < REPEAT; i++) {
    const r = await phase(name, arg, flags);
    s.ms.push(r.ms);
    s.rssKiB.push(r.maxRssKiB);
    s.detail = r.detail;
  }
  return s;
}

async function repeatTimed(fn: () => Promise<number>, n = REPEAT): Promise<Sample> {
  const s: Sample = { ms: [], rssKiB: [] };
  for (let i = 0; i < n; i++) s.ms.push(await fn());
  return s;
}

function inNs(netns: string, argv: readonly string[]): string[] {
  return ["nsenter", `--net=/var/run/netns/${netns}`, "--", ...argv];
}

const rows: string[][] = [];
const fmtMs = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const fmtMb = (kib: number): string => `${(kib / 1024).toFixed(0)} MB`;
function row(what: string, s: Sample, note = ""): void {
  rows.push([what, fmtMs(median(s.ms)), fmtMs(min(s.ms)), s.rssKiB.length ? fmtMb(max(s.rssKiB)) : "", note]);
  printRow(rows[rows.length - 1] as string[]);
}
const WIDTHS = [64, 10, 10, 9];
function printRow(cols: readonly string[]): void {
  process.stdout.write(
    `${cols.map((c, i) => (i < WIDTHS.length ? c.padEnd(WIDTHS[i] as number) : c)).join(" ")}\n`,
  );
}
function header(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
  printRow(["measure", "median", "min", "peak RSS", "notes"]);
}

interface Verdict {
  target: string;
  value: string;
  pass: boolean;
}
const verdicts: Verdict[] = [];
function judge(target: string, value: string, pass: boolean): void {
  verdicts.push({ target, value, pass });
}

function detailNote(d: Record<string, string | number> | undefined, keys: readonly string[]): string {
  if (!d) return "";
  return keys
    .filter((k) => d[k] !== undefined)
    .map((k) => `${k}=${d[k]}`)
    .join(" ");
}

async function newLab(): Promise<Lab> {
  return createLab({ name: "bench", nodes: 2, podsPerNode: 1, overlay: "vxlan" });
}

function traceArgs(lab: Lab, dst: string): TraceArgs {
  const src = lab.pods.find((p) => p.node === "node-1");
  const dstPod = lab.pods.find((p) => p.node === "node-2");
  if (!src || !dstPod) throw new Error("lab has no pods on node-1/node-2");
  const packet: Packet = { protocol: "tcp", src: src.ip, dst, sport: 40000, dport: SERVICE_PORT };
  return {
    packet,
    nodes: lab.nodes.map((n) => ({
      name: n.name,
      netns: `/var/run/netns/${n.netns}`,
      podIps: lab.pods.filter((p) => p.node === n.name).map((p) => p.ip),
    })),
  };
}

async function benchIptables(lab: Lab, files: { iptables: string[] }, work: string): Promise<void> {
  const node = lab.nodes[0]?.netns as string;
  // The lab's own rules (the CNI bridge plugin's masquerade chains) are saved, kube-proxy's sync is
  // restored in full (as on kube-proxy's first sync; `--noflush` over 60k chains is quadratic in
  // iptables-nft 1.8.9), then the lab's rules and kube-proxy's base-chain jumps are put back.
  const labRules = join(work, "lab-rules.iptables");
  await writeFileAsync(labRules, await runOk(inNs(node, ["iptables-save"])));
  const [sync, jumps] = files.iptables as [string, string];
  const load = await repeatTimed(async () => {
    const t0 = performance.now();
    await runOk(inNs(node, ["iptables-restore", sync]), { timeoutMs: 170_000 });
    return performance.now() - t0;
  }, 1);
  await runOk(inNs(node, ["iptables-restore", "--noflush", labRules]), { timeoutMs: 60_000 });
  await runOk(inNs(node, ["iptables-restore", "--noflush", jumps]), { timeoutMs: 60_000 });
  header("iptables mode (iptables-nft, kube-proxy 1.28+ rules)");
  row("load: iptables-restore of kube-proxy's sync (once)", load);
  const dumpFile = join(work, "iptables-save.txt");
  const dump = await repeatTimed(() => timeToFile(inNs(node, ["iptables-save", "-c"]), dumpFile));
  const bytes = statSync(dumpFile).size;
  row("(a) dump: iptables-save -c", dump, `${(bytes / 1e6).toFixed(1)} MB`);
  const parse = await repeatPhase("parse-iptables", dumpFile);
  const ratio = median(parse.ms) / median(dump.ms);
  row(
    "(b) parse: parseIptablesSave (index pass)",
    parse,
    `${ratio.toFixed(3)}× dump; ${detailNote(parse.detail, ["rules", "chains"])}`,
  );

  const svcChain = (await runOk(inNs(node, ["iptables-save", "-t", "nat"]), { timeoutMs: 60_000 }))
    .split("\n")
    .find((l) => l.includes(`svc${TRACED}:http cluster IP`) && l.startsWith("-A KUBE-SERVICES"))
    ?.match(/-j (KUBE-SVC-\S+)/)?.[1];
  if (!svcChain) throw new Error(`no KUBE-SERVICES rule for svc${TRACED}`);
  const one = await repeatTimed(() =>
    timeToFile(inNs(node, ["iptables", "-t", "nat", "-S", svcChain, "-v"]), join(work, "one.txt")),
  );
  row(`    one chain: iptables -t nat -S ${svcChain}`, one);
  const big = await repeatTimed(() =>
    timeToFile(inNs(node, ["iptables", "-t", "nat", "-S", "KUBE-SERVICES", "-v"]), join(work, "one.txt")),
  );
  row("    one chain: iptables -t nat -S KUBE-SERVICES (10k rules)", big);
  const chains = await repeatTimed(() =>
    timeToFile(inNs(node, ["nft", "-j", "list", "chains"]), join(work, "one.txt")),
  );
  row("    nft -j list chains (which nft tables are not iptables')", chains);

  const args = traceArgs(lab, clusterIpOf(TRACED));
  const full = await repeatPhase("trace-dump", JSON.stringify({ ...args, dumps: ["iptables-save"] }));
  row(
    "(c) whole trace, dump-based: collect(ip…, iptables-save -c)+parse+walk",
    full,
    detailNote(full.detail, ["verdict", "hops", "dnatTo"]),
  );
  const lazy = await repeatPhase("trace-on-demand", JSON.stringify(args));
  row(
    "(c) whole trace, demand-driven: collect(ip…)+iptables -S per chain+walk",
    lazy,
    detailNote(lazy.detail, [
      "verdict",
      "hops",
      "dnatTo",
      "rounds",
      "iptablesS",
      "collectMs",
      "ipMs",
      "nftMs",
    ]),
  );
  if (process.env.BENCH_SLOW === "1") {
    const nftOnIpt = await repeatTimed(
      () => timeToFile(inNs(node, ["nft", "-j", "list", "ruleset"]), join(work, "one.txt")),
      1,
    );
    row(
      "    nft -j list ruleset of these iptables-nft tables (once)",
      nftOnIpt,
      `${(statSync(join(work, "one.txt")).size / 1e6).toFixed(1)} MB`,
    );
  }

  const expected = `${lab.pods.find((p) => p.node === "node-2")?.ip}:${TARGET_PORT}`;
  const traceOk =
    lazy.detail?.verdict === "Delivered" &&
    lazy.detail?.dnatTo === expected &&
    full.detail?.dnatTo === expected;
  judge("iptables: parse ≤ 0.25× dump", `${ratio.toFixed(3)}×`, ratio <= 0.25);
  judge(
    "iptables: whole trace (demand-driven) ≤ dump",
    `${fmtMs(median(lazy.ms))} vs ${fmtMs(median(dump.ms))}${traceOk ? "" : " (trace did not reach the endpoint!)"}`,
    median(lazy.ms) <= median(dump.ms) && traceOk,
  );
  judge(
    "iptables: whole trace (dump-based) ≤ dump",
    `${fmtMs(median(full.ms))} vs ${fmtMs(median(dump.ms))}`,
    median(full.ms) <= median(dump.ms),
  );
  const peak = max([...parse.rssKiB, ...lazy.rssKiB]);
  judge("iptables: peak RSS ≤ 120 MB (parse, demand-driven trace)", fmtMb(peak), peak <= 120 * 1024);
  judge(
    "iptables: peak RSS ≤ 120 MB (dump-based trace)",
    fmtMb(max(full.rssKiB)),
    max(full.rssKiB) <= 120 * 1024,
  );
}

async function benchNft(lab: Lab, files: { nft: string }, work: string): Promise<void> {
  const node = lab.nodes[0]?.netns as string;
  const load = await repeatTimed(async () => {
    const t0 = performance.now();
    await runOk(inNs(node, ["nft", "-f", files.nft]), { timeoutMs: 170_000 });
    return performance.now() - t0;
  }, 1);
  header("nftables mode (kube-proxy --proxy-mode=nftables: table ip kube-proxy)");
  row("load: nft -f (once)", load);
  const dumpFile = join(work, "nft-ruleset.json");
  const dump = await repeatTimed(() => timeToFile(inNs(node, ["nft", "-j", "list", "ruleset"]), dumpFile));
  const bytes = statSync(dumpFile).size;
  row("(a) dump: nft -j list ruleset", dump, `${(bytes / 1e6).toFixed(1)} MB`);
  const parse = await repeatPhase("parse-nft", dumpFile);
  const ratio = median(parse.ms) / median(dump.ms);
  row(
    "(b) parse: parseNftJson, the dump given as a string",
    parse,
    `${ratio.toFixed(3)}× dump; ${detailNote(parse.detail, ["chains", "rules", "elements"])}`,
  );
  const fileParse = await repeatPhase("parse-nft-file", dumpFile);
  const fileRatio = median(fileParse.ms) / median(dump.ms);
  row(
    "(b) parse: indexed from its file (the probe's whole-table path)",
    fileParse,
    `${fileRatio.toFixed(3)}× dump; ${detailNote(fileParse.detail, ["chains", "elements", "decoded"])}`,
  );
  const fileParseDefault = await repeatPhase("parse-nft-file", dumpFile, []);
  row("    same, default V8 flags", fileParseDefault);

  const svc = (
    await runOk(inNs(node, ["nft", "-j", "list", "map", "ip", "kube-proxy", "service-ips"]), {
      timeoutMs: 60_000,
    })
  ).match(new RegExp(`"(service-[A-Z0-9]+-ns\\d+/svc${TRACED}/tcp/http)"`))?.[1];
  if (!svc) throw new Error(`no service-ips element for svc${TRACED}`);
  const one = await repeatTimed(() =>
    timeToFile(inNs(node, ["nft", "-j", "list", "chain", "ip", "kube-proxy", svc]), join(work, "one.txt")),
  );
  row(
    `    one chain: nft -j list chain ip kube-proxy ${svc.slice(0, 16)}…`,
    one,
    "set cache of 10k anonymous vmaps first",
  );
  const map = await repeatTimed(() =>
    timeToFile(
      inNs(node, ["nft", "-j", "list", "map", "ip", "kube-proxy", "service-ips"]),
      join(work, "one.txt"),
    ),
  );
  row("    one map: nft -j list map ip kube-proxy service-ips", map);
  const chains = await repeatTimed(() =>
    timeToFile(inNs(node, ["nft", "-j", "list", "chains"]), join(work, "one.txt")),
  );
  row("    nft -j list chains (names and hooks only)", chains);

  const args = traceArgs(lab, clusterIpOf(TRACED));
  const full = await repeatPhase(
    "trace-dump",
    JSON.stringify({ ...args, dumps: ["iptables-save", "nft-ruleset"] }),
  );
  row(
    "(c) whole trace, dump-based: collect(ip…, iptables-save, nft tables)+parse+walk",
    full,
    detailNote(full.detail, ["verdict", "hops", "dnatTo"]),
  );
  const lazy = await repeatPhase("trace-on-demand", JSON.stringify(args));
  const lazyNote = [
    "verdict",
    "hops",
    "dnatTo",
    "rounds",
    "nftNetlink",
    "iptablesS",
    "collectMs",
    "ipMs",
    "nftMs",
    "nftFallbacks",
  ];
  row(
    "(c) whole trace, demand-driven: ip…, iptables -S and nft netlink per object",
    lazy,
    detailNote(lazy.detail, lazyNote),
  );
  const lazyDefault = await repeatPhase("trace-on-demand", JSON.stringify(args), []);
  row("    same, default V8 flags", lazyDefault);
  const expected = `${lab.pods.find((p) => p.node === "node-2")?.ip}:${TARGET_PORT}`;
  const best = median(lazy.ms) <= median(full.ms) ? lazy : full;
  const traceOk = best.detail?.verdict === "Delivered" && best.detail?.dnatTo === expected;
  judge(
    "nftables: parse ≤ 0.25× dump (string; file)",
    `${ratio.toFixed(3)}×; ${fileRatio.toFixed(3)}×`,
    ratio <= 0.25 && fileRatio <= 0.25,
  );
  judge(
    "nftables: whole trace (best variant) ≤ dump",
    `${fmtMs(median(best.ms))} vs ${fmtMs(median(dump.ms))}${traceOk ? "" : " (trace did not reach the endpoint!)"}`,
    median(best.ms) <= median(dump.ms) && traceOk,
  );
  const peak = max([...fileParse.rssKiB, ...best.rssKiB]);
  judge("nftables: peak RSS ≤ 120 MB (file parse, best trace)", fmtMb(peak), peak <= 120 * 1024);
  judge(
    "nftables: peak RSS ≤ 120 MB (parse of the dump as a string)",
    fmtMb(max(parse.rssKiB)),
    max(parse.rssKiB) <= 120 * 1024,
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the bench loads rules into network namespaces: run it as root");
  const work = mkdtempSync(join(tmpdir(), "netmap-bench-"));
  let lab: Lab | undefined;
  try {
    process.stdout.write(
      `netmap bench: ${SERVICES} Services × ${ENDPOINTS} endpoints, each timing ${REPEAT}× (median, min); each measured phase in a fresh node process with the probe's flags (${PROBE_NODE_FLAGS.join(" ")}) unless a row says otherwise; peak RSS is its VmHWM\n`,
    );
    lab = await newLab();
    const n2pod = lab.pods.find((p) => p.node === "node-2");
    if (!n2pod) throw new Error("lab has no pod on node-2");
    const files = await writeRulesetFiles(work, {
      services: SERVICES,
      endpointsPerService: ENDPOINTS,
      traced: {
        index: TRACED,
        endpoints: [n2pod.ip, "10.244.9.2", "10.244.9.3", "10.244.9.4", "10.244.9.5"],
      },
    });
    process.stdout.write(
      `rule set: iptables-restore input ${(files.iptablesBytes / 1e6).toFixed(1)} MB, nft script ${(files.nftBytes / 1e6).toFixed(1)} MB; traced: pod ${lab.pods[0]?.ip} → svc${TRACED} ${clusterIpOf(TRACED)}:${SERVICE_PORT} (first endpoint ${n2pod.ip}:${TARGET_PORT} on node-2)\n`,
    );
    const empty: Sample = { ms: [], rssKiB: [] };
    for (let i = 0; i < REPEAT; i++) {
      const out = await runOk([
        process.execPath,
        "-e",
        // VmHWM, as phase.ts measures (ru_maxrss would include this parent's RSS: see phase.ts).
        "process.stdout.write(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','latin1'))[1])",
      ]);
      empty.ms.push(0);
      empty.rssKiB.push(Number(out));
    }
    const base = await repeatPhase("baseline", "");
    header("process");
    row("baseline: empty node process (node -e '')", empty);
    row("baseline: phase process, @netmap/core + probe loaded, idle", base);

    await benchIptables(lab, files, work);
    // A fresh lab for nftables mode: 60k iptables-nft chains next to the kube-proxy table would slow
    // every nft command down and is not what an nftables-mode node looks like.
    await lab.destroy();
    lab = await newLab();
    await benchNft(lab, files, work);

    process.stdout.write("\n== targets (issue 5)\n");
    for (const v of verdicts)
      process.stdout.write(`${v.pass ? "PASS" : "MISS"}  ${v.target.padEnd(58)} ${v.value}\n`);
  } finally {
    if (lab) await lab.destroy().catch((e: Error) => process.stderr.write(`lab cleanup: ${e.message}\n`));
    rmSync(work, { recursive: true, force: true });
    const left = await runCmd(["ip", "netns", "list"]);
    if (left.stdout.includes("nm-bench-"))
      process.stderr.write(`WARNING: netns left behind:\n${left.stdout}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

/**
 * The online benchmark (`npm run bench:online`, as root): a real kube-apiserver, a 3-node kernel lab
 * (VXLAN), the operator and one probe per node, as the end-to-end test runs them. It prints:
 *
 *   - create → Succeeded of a cross-node TCP trace (request and reply, 2 nodes, 4 node walks), 50 in
 *     a row: median and p95 (target: median < 1 s, p95 < 2 s);
 *   - 100 traces created at once: how many Succeeded, wall time until the last (target: all, < 15 s);
 *   - RSS and CPU of the operator and each probe, idle (30 s, after 10 s to settle) and under the 100 (target: idle probe
 *     ≤ 80 MB RSS and no CPU); the same for kube-apiserver, etcd and this process, which share the
 *     machine's cores with them (where the time of the 100 goes).
 *
 * Completion is seen through a watch on the NetworkTraces (no polling); times are from the create
 * call to the watch event that shows Succeeded or Failed.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import type { NetworkTrace } from "@netmap/api";
import { ensureTools, startControlPlane } from "../control-plane/index.js";
import { processesMentioning } from "../control-plane/process.js";
import { createLab } from "../lab/lab.js";
import {
  describeLab,
  LAB_NAMESPACE,
  OPERATOR_NAMESPACE,
  type Proc,
  renderChart,
  startOperator,
  startProbe,
} from "./cluster.js";

interface Usage {
  rssMb: number;
  cpuSeconds: number;
}

/** RSS (VmRSS) and CPU time (utime + stime) of a process, from /proc. */
function usage(pid: number): Usage {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: rssKb / 1024, cpuSeconds: ticks / 100 };
}

/** kube-apiserver and etcd of the control plane in `dir` (their command lines name it). */
function controlPlanePids(dir: string): Array<{ name: string; pid: number }> {
  return processesMentioning(dir)
    .filter((p) => p.program === "kube-apiserver" || p.program === "etcd")
    .map((p) => ({ name: p.program, pid: p.pid }))
    .sort((x, y) => x.name.localeCompare(y.name));
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

const fmt = (n: number, d = 0) => n.toFixed(d);
/** How long the idle processes are watched (after 10 s to settle). */
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);

async function main(): Promise<void> {
  const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 50);
  const concurrent = Number(process.env.BENCH_CONCURRENT ?? 100);
  const dir = mkdtempSync(join(tmpdir(), "netmap-bench-online-"));
  const tools = await ensureTools(["kube-apiserver", "kubectl", "etcd", "helm"]);
  const cp = await startControlPlane({
    tools: {
      kubeApiserver: tools["kube-apiserver"] as string,
      kubectl: tools.kubectl as string,
      etcd: tools.etcd as string,
    },
  });
  const lab = await createLab({ name: "cpbench", nodes: 3, podsPerNode: 2, overlay: "vxlan" });
  const procs: Proc[] = [];
  try {
    await cp.kubectl(["create", "namespace", OPERATOR_NAMESPACE]);
    await cp.kubectl(["apply", "--server-side", "-f", "-"], {
      input: await renderChart(tools.helm as string),
    });
    await cp.kubectl(["wait", "--for=condition=Established", "crd/networktraces.netmap.io"]);
    await describeLab(cp, lab);
    const operator = await startOperator(cp, dir);
    procs.push(operator);
    const probes: Array<{ node: string; proc: Proc }> = [];
    for (const n of lab.nodes) {
      const proc = await startProbe(cp, lab, n.name, dir);
      probes.push({ node: n.name, proc });
      procs.push(proc);
    }

    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const api = kc.makeApiClient(CustomObjectsApi);
    const finished = new Map<string, { at: number; phase: string; message?: string }>();
    const waiters = new Map<string, () => void>();
    const seen = (obj: NetworkTrace) => {
      const phase = obj.status?.phase;
      const name = obj.metadata.name ?? "";
      if ((phase === "Succeeded" || phase === "Failed") && !finished.has(name)) {
        finished.set(name, {
          at: performance.now(),
          phase,
          ...(obj.status?.message ? { message: obj.status.message } : {}),
        });
        waiters.get(name)?.();
      }
    };
    // List, then watch from the list's version; again whenever the watch ends (an API server just
    // started answers 429 until its flow-control configuration is in place).
    let stopped = false;
    let request: { abort(): void } | undefined;
    const path = `/apis/netmap.io/v1alpha1/namespaces/${LAB_NAMESPACE}/networktraces`;
    const listAndWatch = async (): Promise<void> => {
      if (stopped) return;
      try {
        const list = (await api.listNamespacedCustomObject({
          group: "netmap.io",
          version: "v1alpha1",
          plural: "networktraces",
          namespace: LAB_NAMESPACE,
        })) as { metadata: { resourceVersion: string }; items: NetworkTrace[] };
        for (const t of list.items) seen(t);
        request = await new Watch(kc).watch(
          path,
          { resourceVersion: list.metadata.resourceVersion },
          (_type: string, obj: NetworkTrace) => seen(obj),
          () => setTimeout(() => void listAndWatch(), 300),
        );
      } catch {
        setTimeout(() => void listAndWatch(), 500);
      }
    };
    await listAndWatch();

    const a = lab.pods.find((p) => p.node === lab.nodes[0]?.name);
    const b = lab.pods.find((p) => p.node === lab.nodes[1]?.name);
    if (!a || !b) throw new Error("the lab has no pods on nodes 1 and 2");
    const spec = {
      source: { pod: a.name },
      destination: { pod: b.name },
      protocol: "tcp",
      port: 8080,
      timeoutSeconds: 60,
    };
    const create = async (name: string): Promise<number> => {
      const done = new Promise<void>((resolve) => waiters.set(name, resolve));
      const t0 = performance.now();
      await api.createNamespacedCustomObject({
        group: "netmap.io",
        version: "v1alpha1",
        plural: "networktraces",
        namespace: LAB_NAMESPACE,
        body: { apiVersion: "netmap.io/v1alpha1", kind: "NetworkTrace", metadata: { name }, spec },
      });
      await done;
      return (finished.get(name)?.at ?? t0) - t0;
    };

    // Warm-up: the first trace loads the engine in each process.
    await create("warmup");

    // Idle: 10 s with nothing to do.
    const all = [
      { name: "operator", pid: operator.child.pid as number },
      ...probes.map((p) => ({ name: `probe ${p.node}`, pid: p.proc.child.pid as number })),
      // What the traces cost the control plane, and this process (the 100 creates and the watch).
      ...controlPlanePids(cp.dir),
      { name: "bench (client)", pid: process.pid },
    ];
    // Settle first: V8 finishes compiling and collecting what the warm-up left for a few seconds.
    await new Promise((r) => setTimeout(r, 10_000));
    const idle0 = all.map((p) => usage(p.pid));
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const idle1 = all.map((p) => usage(p.pid));

    // Sequential.
    const times: number[] = [];
    for (let i = 0; i < sequential; i++) times.push(await create(`seq-${i}`));
    const failedSeq = [...finished.entries()].filter(
      ([n, f]) => n.startsWith("seq-") && f.phase !== "Succeeded",
    );
    times.sort((x, y) => x - y);

    // Concurrent, with RSS sampled every 200 ms.
    const peak = all.map(() => 0);
    const sampler = setInterval(() => {
      all.forEach((p, i) => {
        peak[i] = Math.max(peak[i] as number, usage(p.pid).rssMb);
      });
    }, 200);
    const load0 = all.map((p) => usage(p.pid));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrent }, (_, i) => create(`burst-${i}`)));
    const wall = performance.now() - t0;
    clearInterval(sampler);
    const load1 = all.map((p) => usage(p.pid));
    const burst = [...finished.entries()].filter(([n]) => n.startsWith("burst-"));
    const succeeded = burst.filter(([, f]) => f.phase === "Succeeded").length;
    stopped = true;
    request?.abort();

    const out: string[] = [];
    out.push(
      `netmap online benchmark: kube-apiserver v1.33.13, 3-node kernel lab (VXLAN), cross-node tcp ${a.name} → ${b.name}:8080 (request + reply, 4 node walks)`,
    );
    out.push(
      `sequential, ${sequential} traces: median ${fmt(percentile(times, 50))} ms, p95 ${fmt(percentile(times, 95))} ms, min ${fmt(times[0] ?? 0)} ms, max ${fmt(times[times.length - 1] ?? 0)} ms; not Succeeded: ${failedSeq.length}`,
    );
    out.push(
      `concurrent, ${concurrent} created at once: ${succeeded}/${concurrent} Succeeded, last finished after ${fmt(wall)} ms`,
    );
    out.push(`process            idle RSS MB  idle CPU % (${IDLE_SECONDS} s)  load peak RSS MB  load CPU s`);
    all.forEach((p, i) => {
      const idleCpu = (((idle1[i]?.cpuSeconds ?? 0) - (idle0[i]?.cpuSeconds ?? 0)) / IDLE_SECONDS) * 100;
      out.push(
        `${p.name.padEnd(18)} ${fmt(idle1[i]?.rssMb ?? 0, 1).padStart(11)}  ${fmt(idleCpu, 2).padStart(17)}  ${fmt(peak[i] ?? 0, 1).padStart(16)}  ${fmt((load1[i]?.cpuSeconds ?? 0) - (load0[i]?.cpuSeconds ?? 0), 2).padStart(10)}`,
      );
    });
    const failures = burst.filter(([, f]) => f.phase !== "Succeeded").slice(0, 3);
    for (const [n, f] of failures) out.push(`  ${n}: ${f.phase} ${f.message ?? ""}`);
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await lab.destroy();
    await cp.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);

/**
 * Faults, on a real API server over the kernel lab, with the chart's RBAC and admission policies:
 * the operator killed mid-trace, the API server restarted mid-trace, a probe killed mid-part (and
 * one that never comes back), a node without a probe, 100 traces at once, time-to-live (also across
 * an operator restart), and the operator's watches cut. The operator runs as a Deployment would
 * (restarted when it exits) behind a TCP relay, so its connections can be cut. Every trace and fault
 * is counted; the last test prints the figures: faults injected, traces lost, traces left Running —
 * the last two must be 0.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { NetworkTrace } from "@netmap/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_NAMESPACE } from "../operator/cluster.js";
import { onlineFixture } from "../operator/fixture.js";
import { Ledger, waitAllFinished } from "./ledger.js";
import { SupervisedOperator } from "./operator.js";
import { Relay } from "./relay.js";

const f = onlineFixture({ labName: "fltfault", overlay: "vxlan", mode: "iptables", operator: false });
const ledger = new Ledger();
let relay: Relay;
let operator: SupervisedOperator;

beforeAll(async () => {
  relay = new Relay(Number(new URL(f.cp.url).port));
  await relay.start();
  operator = new SupervisedOperator(f.cp, f.dir, relay.port);
  await operator.start();
  await until("the operator to lead", async () => operator.leading(), 60_000);
}, 90_000);

afterAll(async () => {
  await operator?.stop();
  await relay?.stop();
});

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pod = (name: string) => f.pod(name);
/** pod-1-1 → pod-2-1 (node-1 → node-2 over VXLAN), tcp 8080. */
const crossNode = (timeoutSeconds = 90): NetworkTrace["spec"] => ({
  source: { pod: pod("pod-1-1").name },
  destination: { pod: pod("pod-2-1").name },
  protocol: "tcp",
  port: 8080,
  timeoutSeconds,
});

async function trace(name: string): Promise<NetworkTrace> {
  return JSON.parse(
    await f.cp.kubectl(["get", "networktrace", name, "-n", LAB_NAMESPACE, "-o", "json"]),
  ) as NetworkTrace;
}

async function finished(name: string, ms = 120_000): Promise<NetworkTrace> {
  return (await waitAllFinished(f.cp, [name], ms)).get(name) as NetworkTrace;
}

/** The segments of a trace: which nodes have been handed their part. */
async function segmentsOf(
  name: string,
): Promise<Array<{ spec: { nodeName: string }; status?: { phase?: string } }>> {
  const t = await trace(name);
  return (
    JSON.parse(
      await f.cp.kubectl([
        "get",
        "ntseg",
        "-n",
        LAB_NAMESPACE,
        "-l",
        `netmap.io/trace-uid=${t.metadata.uid}`,
        "-o",
        "json",
      ]),
    ) as { items: Array<{ spec: { nodeName: string }; status?: { phase?: string } }> }
  ).items;
}

/** Waits until node's part of the trace has been handed over and not answered yet. */
async function waitingFor(name: string, node: string): Promise<void> {
  await until(`trace ${name} waiting for ${node}`, async () =>
    (await segmentsOf(name)).some((s) => s.spec.nodeName === node && !s.status?.phase),
  );
}

const probePid = (node: string): number => {
  const pid = f.probes.get(node)?.child.pid;
  if (pid === undefined) throw new Error(`no probe running for ${node}`);
  return pid;
};

/** The reference result of the cross-node trace, for comparison after faults. */
let reference: NetworkTrace;

describe("faults, on a real API server over the kernel lab", () => {
  it("traces pod-1-1 → pod-2-1 with nothing wrong (the reference)", async () => {
    await ledger.create(f.cp, [{ name: "reference", spec: crossNode() }]);
    reference = await finished("reference");
    expect(reference.status?.phase, reference.status?.message).toBe("Succeeded");
    expect(reference.status?.verdict).toBe("Delivered");
  });

  it("finishes a trace whose operator is killed (SIGKILL) mid-trace and started again", async () => {
    // node-2's probe is frozen so that the trace is surely mid-way (node-2's part handed over) when
    // the operator dies; it answers while no operator runs.
    process.kill(probePid("node-2"), "SIGSTOP");
    try {
      await ledger.create(f.cp, [{ name: "operator-killed", spec: crossNode() }]);
      await waitingFor("operator-killed", "node-2");
      operator.kill();
      ledger.fault("operator SIGKILLed mid-trace (node-2's part handed over, not answered)");
    } finally {
      process.kill(probePid("node-2"), "SIGCONT");
    }
    const t = await finished("operator-killed");
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(t.status?.hops).toEqual(reference.status?.hops);
    // And one killed before it ever looked at a new trace.
    operator.kill(true);
    ledger.fault("operator SIGKILLed with a trace created while it was down");
    await ledger.create(f.cp, [{ name: "created-while-down", spec: crossNode() }]);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await trace("created-while-down")).status?.phase).toBeUndefined();
    operator.resume();
    const t2 = await finished("created-while-down");
    expect(t2.status?.phase, t2.status?.message).toBe("Succeeded");
  });

  it("finishes, or fails with a reason, traces that were mid-way when the API server restarted", async () => {
    process.kill(probePid("node-2"), "SIGSTOP");
    const names = Array.from({ length: 6 }, (_, i) => `apiserver-restart-${i}`);
    try {
      await ledger.create(
        f.cp,
        names.map((name) => ({ name, spec: crossNode() })),
      );
      for (const n of names) await waitingFor(n, "node-2");
      await f.cp.restartApiServer();
      ledger.fault("kube-apiserver restarted with 6 traces mid-way");
    } finally {
      process.kill(probePid("node-2"), "SIGCONT");
    }
    const done = await waitAllFinished(f.cp, names, 150_000);
    for (const n of names) {
      const t = done.get(n);
      if (t?.status?.phase === "Failed") expect(t.status.message ?? "").not.toBe("");
      else expect(t?.status?.hops).toEqual(reference.status?.hops);
    }
    console.log(
      `[faults] after the API server restart: ${[...done.values()].map((t) => `${t.metadata.name} ${t.status?.phase}`).join(", ")}; operator restarts so far: ${operator.restarts}`,
    );
  });

  it("retries a probe's part when the probe is killed with the part handed to it", async () => {
    process.kill(probePid("node-2"), "SIGSTOP");
    await ledger.create(f.cp, [{ name: "probe-killed", spec: crossNode() }]);
    await waitingFor("probe-killed", "node-2");
    process.kill(probePid("node-2"), "SIGKILL");
    ledger.fault("node-2's probe SIGKILLed holding its part");
    await f.restartProbe("node-2");
    const t = await finished("probe-killed");
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(t.status?.hops).toEqual(reference.status?.hops);
  });

  it("retries a probe's part when the probe is killed while it reads the node", async () => {
    // Killed the moment it runs a collector (a child process: nsenter … ip/iptables), i.e. mid-walk.
    let hit = false;
    for (let attempt = 0; attempt < 5 && !hit; attempt++) {
      const pid = probePid("node-2");
      const name = `probe-killed-reading-${attempt}`;
      await ledger.create(f.cp, [{ name, spec: crossNode() }]);
      // Watch the probe's children every millisecond until its part is answered (checked apart).
      let answered = false;
      const check = setInterval(() => {
        void segmentsOf(name).then((segs) => {
          if (segs.some((s) => s.spec.nodeName === "node-2" && s.status?.phase)) answered = true;
        });
      }, 300);
      const deadline = Date.now() + 15_000;
      try {
        while (!answered && Date.now() < deadline) {
          if (childrenOf(pid).length > 0) {
            process.kill(pid, "SIGKILL");
            hit = true;
            ledger.fault("node-2's probe SIGKILLed while a collector ran");
            break;
          }
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        clearInterval(check);
      }
      if (hit) await f.restartProbe("node-2");
      const t = await finished(name);
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(t.status?.hops).toEqual(reference.status?.hops);
    }
    expect(hit, "the probe was never caught running a collector").toBe(true);
  });

  it("fails a trace naming the node whose probe is killed and does not come back, within the timeout", async () => {
    process.kill(probePid("node-2"), "SIGKILL");
    ledger.fault("node-2's probe SIGKILLed for good (until the trace's timeout)");
    try {
      const t0 = Date.now();
      await ledger.create(f.cp, [{ name: "probe-gone", spec: crossNode(5) }]);
      const t = await finished("probe-gone", 30_000);
      expect(t.status?.phase).toBe("Failed");
      expect(t.status?.message).toContain(
        "node node-2 did not answer step 1 (request) within the trace's 5s",
      );
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      await f.restartProbe("node-2");
    }
  });

  it("fails, naming the node, a trace through a node without a probe (first node or a later one), within its timeout", async () => {
    await f.probes.get("node-3")?.stop();
    ledger.fault("node-3 without a probe");
    try {
      const t0 = Date.now();
      await ledger.create(f.cp, [
        {
          name: "to-node-without-probe",
          spec: {
            source: { pod: "pod-1-1" },
            destination: { pod: "pod-3-1" },
            protocol: "icmp",
            timeoutSeconds: 4,
          },
        },
        {
          name: "from-node-without-probe",
          spec: {
            source: { pod: "pod-3-1" },
            destination: { pod: "pod-1-1" },
            protocol: "icmp",
            timeoutSeconds: 4,
          },
        },
      ]);
      const done = await waitAllFinished(f.cp, ["to-node-without-probe", "from-node-without-probe"], 30_000);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(done.get("to-node-without-probe")?.status?.message).toMatch(
        /^node node-3 did not answer step 1 \(request\) within the trace's 4s: is the netmap probe running on node-3\?/,
      );
      expect(done.get("from-node-without-probe")?.status?.message).toMatch(
        /^node node-3 did not answer step 0 \(request\) within the trace's 4s/,
      );
      for (const t of done.values()) expect(t.status?.phase).toBe("Failed");
    } finally {
      await f.restartProbe("node-3");
    }
  });

  it("finishes 100 traces created at once", async () => {
    // A generous timeout: "all finish" is the claim here, on a machine that may be busy (a probe's
    // read of its node took 2.5 s at a load of 7 on 2 cores); the speed is bench:online's business.
    const timeoutSeconds = 150;
    const specs: Array<NetworkTrace["spec"]> = [
      crossNode(timeoutSeconds),
      {
        source: { pod: "pod-1-1" },
        destination: { pod: "pod-1-2" },
        protocol: "tcp",
        port: 8080,
        timeoutSeconds,
      },
      {
        source: { pod: "pod-1-2" },
        destination: { service: "web" },
        protocol: "tcp",
        port: 80,
        endpoint: 2,
        timeoutSeconds,
      },
      { source: { pod: "pod-2-2" }, destination: { pod: "pod-3-2" }, protocol: "icmp", timeoutSeconds },
    ];
    const names = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
    const t0 = Date.now();
    await ledger.create(
      f.cp,
      names.map((name, i) => ({ name, spec: specs[i % specs.length] as NetworkTrace["spec"] })),
    );
    ledger.fault("100 traces created at once");
    const done = await waitAllFinished(f.cp, names, 200_000);
    const ms = Date.now() - t0;
    const failed = new Map<string, number>();
    for (const t of done.values())
      if (t.status?.phase !== "Succeeded") {
        const why = (t.status?.message ?? "").replace(/burst-\d+/g, "burst-N");
        failed.set(why, (failed.get(why) ?? 0) + 1);
      }
    expect(Object.fromEntries(failed)).toEqual({});
    console.log(
      `[faults] 100 traces at once: all Succeeded in ${(ms / 1000).toFixed(1)} s (create → last finished)`,
    );
  });

  it("deletes finished traces past their time-to-live, also one that expired while the operator was down", async () => {
    await ledger.create(f.cp, [
      {
        name: "ttl-live",
        spec: { ...crossNode(), ttlSecondsAfterFinished: 2 },
        dueForDeletion: true,
      },
      {
        name: "ttl-while-down",
        spec: { ...crossNode(), ttlSecondsAfterFinished: 3 },
        dueForDeletion: true,
      },
    ]);
    const done = await waitAllFinished(f.cp, ["ttl-live", "ttl-while-down"], 60_000);
    const uid = done.get("ttl-while-down")?.metadata.uid;
    operator.kill(true);
    ledger.fault("operator down while a finished trace's time-to-live ran out");
    const gone = async (name: string) =>
      (
        await f.cp.kubectl(["get", "ntrace", name, "-n", LAB_NAMESPACE, "--ignore-not-found", "-o", "name"])
      ).trim() === "";
    await new Promise((r) => setTimeout(r, 4000));
    expect(await gone("ttl-while-down")).toBe(false);
    operator.resume();
    await until(
      "both traces deleted",
      async () => (await gone("ttl-live")) && (await gone("ttl-while-down")),
      60_000,
    );
    const segs = await f.cp.kubectl([
      "get",
      "ntseg",
      "-n",
      LAB_NAMESPACE,
      "-l",
      `netmap.io/trace-uid=${uid}`,
      "-o",
      "name",
    ]);
    expect(segs.trim()).toBe("");
  });

  it("relists and carries on after its watches are cut, and after the API server was unreachable for a while", async () => {
    const restarts = async () => {
      const port = operator.metricsPort();
      if (!port) return 0;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^netmap_watch_restarts_total\{[^}]*\} (\d+)/gm)].reduce(
        (s, m) => s + Number(m[1]),
        0,
      );
    };
    const before = await restarts();
    const cut = relay.cut();
    ledger.fault(`the operator's ${cut} connections to the API server cut (watches mid-stream)`);
    await until("the informers to restart", async () => (await restarts()) > before, 30_000);
    await ledger.create(f.cp, [{ name: "after-watch-cut", spec: crossNode() }]);
    const t = await finished("after-watch-cut");
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    // Unreachable for 3 s, a trace created meanwhile.
    const refusing = relay.refuse(3000);
    ledger.fault("the API server unreachable for the operator for 3 s");
    await ledger.create(f.cp, [{ name: "during-outage", spec: crossNode() }]);
    await refusing;
    const t2 = await finished("during-outage");
    expect(t2.status?.phase, t2.status?.message).toBe("Succeeded");
    expect(t2.status?.hops).toEqual(reference.status?.hops);
  });

  it("lost no trace and left none Running (the figures)", async () => {
    const fig = await ledger.figures(f.cp);
    console.log(
      [
        `[faults] faults injected: ${fig.faults}`,
        ...ledger.faults.map((x, i) => `  ${i + 1}. ${x}`),
        `[faults] traces created: ${fig.traces} (Succeeded ${fig.succeeded}, Failed ${fig.failed}, deleted after their time-to-live as due ${fig.deletedAsDue})`,
        `[faults] traces lost: ${fig.lost.length}${fig.lost.length ? ` (${fig.lost.join(", ")})` : ""}`,
        `[faults] traces left Running: ${fig.running.length}${fig.running.length ? ` (${fig.running.join(", ")})` : ""}`,
        `[faults] operator restarts after it exited on its own: ${operator.restarts}`,
      ].join("\n"),
    );
    expect(fig.lost).toEqual([]);
    expect(fig.running).toEqual([]);
    expect(fig.faults).toBeGreaterThanOrEqual(11);
  });
});

/** The child processes of `pid` (its main thread's, where node spawns them). */
function childrenOf(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`))
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/))
        if (c) out.push(Number(c));
    return out;
  } catch {
    return [];
  }
}

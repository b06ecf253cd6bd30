/**
 * Every trace a fault test creates, and every fault it injects, so that the suite can say at the
 * end how many traces were lost (gone without being due for deletion) and how many were left
 * Running (or Pending) — both must be 0.
 */
import type { NetworkTrace } from "@netmap/api";
import type { ControlPlane } from "../control-plane/index.js";
import { LAB_NAMESPACE } from "../operator/cluster.js";

export interface LedgerEntry {
  name: string;
  /** The test waits for its time-to-live to delete it: gone is right. */
  dueForDeletion: boolean;
}

export interface Figures {
  faults: number;
  traces: number;
  succeeded: number;
  failed: number;
  lost: string[];
  running: string[];
  deletedAsDue: number;
}

export class Ledger {
  readonly traces: LedgerEntry[] = [];
  readonly faults: string[] = [];

  fault(what: string): void {
    this.faults.push(what);
  }

  /** Creates NetworkTraces in the lab namespace in one kubectl call, and records them. */
  async create(
    cp: ControlPlane,
    traces: ReadonlyArray<{ name: string; spec: NetworkTrace["spec"]; dueForDeletion?: boolean }>,
  ): Promise<void> {
    await cp.kubectl(["create", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: traces.map((t) => ({
          apiVersion: "netmap.io/v1alpha1",
          kind: "NetworkTrace",
          metadata: { name: t.name, namespace: LAB_NAMESPACE },
          spec: t.spec,
        })),
      }),
      timeoutMs: 60_000,
    });
    for (const t of traces) this.traces.push({ name: t.name, dueForDeletion: t.dueForDeletion === true });
  }

  /** The state of every recorded trace now. */
  async figures(cp: ControlPlane): Promise<Figures> {
    const list = JSON.parse(
      await cp.kubectl(["get", "networktraces", "-n", LAB_NAMESPACE, "-o", "json"], { timeoutMs: 60_000 }),
    ) as { items: NetworkTrace[] };
    const byName = new Map(list.items.map((t) => [t.metadata.name ?? "", t]));
    const out: Figures = {
      faults: this.faults.length,
      traces: this.traces.length,
      succeeded: 0,
      failed: 0,
      lost: [],
      running: [],
      deletedAsDue: 0,
    };
    for (const e of this.traces) {
      const t = byName.get(e.name);
      if (!t) {
        if (e.dueForDeletion) out.deletedAsDue++;
        else out.lost.push(e.name);
        continue;
      }
      const phase = t.status?.phase;
      if (phase === "Succeeded") out.succeeded++;
      else if (phase === "Failed") out.failed++;
      else out.running.push(`${e.name} (${phase ?? "no phase"})`);
    }
    return out;
  }
}

/** Waits until every named trace is Succeeded or Failed; returns them. Throws naming those that are not. */
export async function waitAllFinished(
  cp: ControlPlane,
  names: readonly string[],
  timeoutMs: number,
): Promise<Map<string, NetworkTrace>> {
  const deadline = Date.now() + timeoutMs;
  const want = new Set(names);
  for (;;) {
    const list = JSON.parse(
      await cp.kubectl(["get", "networktraces", "-n", LAB_NAMESPACE, "-o", "json"], { timeoutMs: 60_000 }),
    ) as { items: NetworkTrace[] };
    const got = new Map(
      list.items.filter((t) => want.has(t.metadata.name ?? "")).map((t) => [t.metadata.name ?? "", t]),
    );
    const open = names.filter((n) => {
      const p = got.get(n)?.status?.phase;
      return p !== "Succeeded" && p !== "Failed";
    });
    if (open.length === 0) return got;
    if (Date.now() > deadline)
      throw new Error(
        `${open.length} of ${names.length} traces not finished after ${timeoutMs} ms: ${open
          .slice(0, 10)
          .map((n) => `${n} (${got.has(n) ? (got.get(n)?.status?.phase ?? "no phase") : "gone"})`)
          .join(", ")}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

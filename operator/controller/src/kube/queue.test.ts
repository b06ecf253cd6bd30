import { describe, expect, it } from "vitest";
import { WorkQueue } from "./queue.js";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("WorkQueue", () => {
  it("queues a key once however often it is added", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("a");
    q.add("b");
    expect(q.depth).toBe(2);
    const seen: string[] = [];
    const run = q.run(
      1,
      async (k) => void seen.push(k),
      () => {},
    );
    await tick();
    q.shutDown();
    await run;
    expect(seen).toEqual(["a", "b"]);
  });

  it("never runs one key twice at a time, and runs it again when it changed meanwhile", async () => {
    const q = new WorkQueue();
    let inFlight = 0;
    let most = 0;
    let runs = 0;
    let release: () => void = () => {};
    const run = q.run(
      4,
      async () => {
        runs++;
        inFlight++;
        most = Math.max(most, inFlight);
        if (runs === 1) await new Promise<void>((r) => (release = r));
        inFlight--;
      },
      () => {},
    );
    q.add("a");
    await tick();
    q.add("a"); // while the first run is in flight
    q.add("a");
    await tick();
    expect(runs).toBe(1);
    release();
    await tick(20);
    q.shutDown();
    await run;
    expect(most).toBe(1);
    expect(runs).toBe(2);
  });

  it("retries a failing key with a growing delay and resets it on success", async () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000 });
    const times: number[] = [];
    const delays: number[] = [];
    const run = q.run(
      1,
      async () => {
        times.push(Date.now());
        if (times.length < 4) throw new Error("not yet");
      },
      (_k, _e, retryMs) => delays.push(retryMs),
    );
    q.add("a");
    await tick(200);
    q.shutDown();
    await run;
    expect(delays).toEqual([10, 20, 40]);
    expect(times).toHaveLength(4);
    expect(q.retries("a")).toBe(0);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps[2]).toBeGreaterThanOrEqual(35);
  });

  it("schedules a key for later, the earliest schedule winning", async () => {
    const q = new WorkQueue();
    q.addAfter("a", 200);
    q.addAfter("a", 10);
    expect(q.depth).toBe(0);
    await tick(40);
    expect(q.depth).toBe(1);
    q.shutDown();
  });
});

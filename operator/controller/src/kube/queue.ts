/**
 * A work queue in client-go's manner: a key is queued at most once however often it is added; a
 * key being processed is never handed out twice at a time (added meanwhile, it is queued again
 * when the current run ends); a failing key is retried after an exponentially growing delay
 * (per key, reset by forget()); addAfter() schedules a key for later (time-to-live, timeouts).
 */

export interface QueueOptions {
  /** First retry delay, ms. Default 100. */
  baseDelayMs?: number;
  /** Largest retry delay, ms. Default 60 000. */
  maxDelayMs?: number;
}

export type Handler = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added while processing: queue again when done. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(opts: QueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
  }

  /** Keys waiting to be processed (not counting those being processed or scheduled for later). */
  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  /** Adds `key` after `ms`; an earlier schedule of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Retries `key` after its next back-off delay; returns that delay. */
  addRateLimited(key: string): number {
    const delay = this.nextDelay(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its back-off starts again from the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Times `key` has failed in a row. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Processes keys with `workers` concurrent runs until shutDown(). A handler's rejection retries
   * the key with back-off (onError is told); a resolution forgets its failures.
   */
  async run(
    workers: number,
    handler: Handler,
    onError: (key: string, err: unknown, retryMs: number) => void,
  ) {
    const worker = async () => {
      for (;;) {
        const key = await this.next();
        if (key === undefined) return;
        try {
          await handler(key);
          this.forget(key);
        } catch (err) {
          const delay = this.nextDelay(key);
          this.retryAfterDone.set(key, delay);
          onError(key, err, delay);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /** Stops handing out keys; run() resolves once the runs in flight end. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Failed runs: retried with this delay when they end. */
  private readonly retryAfterDone = new Map<string, number>();

  private nextDelay(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
  }

  private async next(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.shuttingDown) return undefined;
    const key = this.queue.shift() as string;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  private done(key: string): void {
    this.processing.delete(key);
    const retry = this.retryAfterDone.get(key);
    this.retryAfterDone.delete(key);
    // Changed meanwhile: run again now (as client-go does); otherwise a failed run waits its back-off.
    if (this.dirty.delete(key)) this.add(key);
    else if (retry !== undefined) this.addAfter(key, retry);
  }
}

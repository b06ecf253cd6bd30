/**
 * Leader election over a coordination.k8s.io Lease, as client-go's leaderelection does: the holder
 * renews spec.renewTime every retry period; another candidate takes the Lease over once
 * renewTime + leaseDurationSeconds has passed. Writes are optimistic (replace with the
 * resourceVersion read), so two candidates never both win. Losing the Lease stops the work; the
 * process exits and starts as a candidate again (as controller-runtime does).
 */
import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { errorMessage, type Logger } from "../observe/log.js";

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  /** Default 15 s. */
  leaseDurationSeconds?: number;
  /** How often to try to acquire or renew, ms. Default 2000. */
  retryPeriodMs?: number;
  /**
   * How long the leader keeps leading while its renewals fail (an API server restart, a cut
   * connection), ms; then it steps down. Shorter than the lease, so no other candidate can have
   * taken over meanwhile. Default 10000 (client-go's renewDeadline).
   */
  renewDeadlineMs?: number;
  log: Logger;
}

export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = false;
  private readonly duration: number;
  private readonly retryMs: number;
  private readonly renewDeadlineMs: number;
  /** When this candidate last acquired or renewed the Lease (ms since the epoch). */
  private renewedAt = 0;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.duration = opts.leaseDurationSeconds ?? 15;
    this.retryMs = opts.retryPeriodMs ?? 2000;
    this.renewDeadlineMs = Math.min(opts.renewDeadlineMs ?? 10_000, this.duration * 1000 - this.retryMs);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Tries until it leads (resolves then), renewing afterwards; onLost is called if the Lease is lost. */
  run(onLost: () => void): Promise<void> {
    return new Promise((resolve) => {
      const tick = async () => {
        if (this.stopped) return;
        let ok = false;
        try {
          ok = await this.tryAcquireOrRenew();
        } catch (err) {
          this.opts.log.warn("lease update failed", { lease: this.opts.name, error: errorMessage(err) });
        }
        if (ok) this.renewedAt = Date.now();
        if (ok && !this.leading) {
          this.leading = true;
          this.opts.log.info("became leader", { lease: this.opts.name, identity: this.opts.identity });
          resolve();
        } else if (!ok && this.leading) {
          // A failed renewal is not a lost lease: nobody else may take it before it expires. Step
          // down only once renewals have failed for the renew deadline, as client-go does.
          const since = Date.now() - this.renewedAt;
          if (since >= this.renewDeadlineMs) {
            this.leading = false;
            this.opts.log.error("lost the lease: could not renew it within the renew deadline", {
              lease: this.opts.name,
              sinceRenewalMs: since,
              renewDeadlineMs: this.renewDeadlineMs,
            });
            onLost();
            return;
          }
          this.opts.log.warn("could not renew the lease; still leading until the renew deadline", {
            lease: this.opts.name,
            sinceRenewalMs: since,
            renewDeadlineMs: this.renewDeadlineMs,
          });
        }
        this.timer = setTimeout(tick, this.retryMs);
        this.timer.unref();
      };
      void tick();
    });
  }

  /** Stops renewing and, when leading, releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.opts.identity) {
        lease.spec.holderIdentity = "";
        lease.spec.leaseDurationSeconds = 1;
        await this.opts.api.replaceNamespacedLease({
          name: this.opts.name,
          namespace: this.opts.namespace,
          body: lease,
        });
      }
    } catch (err) {
      this.opts.log.warn("could not release the lease", { error: errorMessage(err) });
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.opts.api.readNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
      });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { name, namespace, identity } = this.opts;
    const lease = await this.read();
    if (!lease) {
      try {
        await this.opts.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: this.duration,
              acquireTime: new V1MicroTime(now.getTime()),
              renewTime: new V1MicroTime(now.getTime()),
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (err) {
        if (err instanceof ApiException && err.code === 409) return false;
        if (err instanceof ApiException && err.code === 403)
          throw new Error(
            `the Lease ${namespace}/${name} does not exist and this operator may not create it (the chart ships it and grants only get and update): run helm upgrade to restore it, or pass --lease-name for an existing Lease`,
          );
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? this.duration) * 1000 < now.getTime();
    if (holder !== identity && holder !== "" && !expired) return false;
    const takeover = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: this.duration,
      renewTime: new V1MicroTime(now.getTime()),
      ...(takeover
        ? { acquireTime: new V1MicroTime(now.getTime()), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      await this.opts.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) return false;
      throw err;
    }
  }
}

/**
 * The operator as a Deployment would run it, for fault tests: authenticated as the chart's
 * netmap-operator ServiceAccount, talking to the API server through a Relay, and started again
 * after it exits (as the kubelet restarts a container), until stop(). kill() sends SIGKILL: the
 * process dies mid-work without releasing its Lease, as an OOM kill or a node loss would.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ControlPlane } from "../control-plane/index.js";
import { OPERATOR_NAMESPACE, operatorArgs, type Proc, startNode } from "../operator/cluster.js";

export class SupervisedOperator {
  private proc: Proc | undefined;
  /** Processes this supervisor killed on purpose (their exit is a fault injected, not a crash). */
  private readonly killed = new WeakSet<Proc>();
  private stopped = false;
  private generation = 0;
  /** Times the process exited on its own (not killed by kill()) and was started again. */
  restarts = 0;
  private kubeconfig = "";

  constructor(
    private readonly cp: ControlPlane,
    private readonly dir: string,
    private readonly relayPort: number,
  ) {}

  async start(): Promise<void> {
    const token = await this.cp.createToken({
      namespace: OPERATOR_NAMESPACE,
      serviceAccount: "netmap-operator",
    });
    const direct = await this.cp.kubeconfigForToken(token, "netmap-operator");
    const cfg = JSON.parse(readFileSync(direct, "utf8")) as {
      clusters: Array<{ cluster: { server: string } }>;
    };
    for (const c of cfg.clusters) c.cluster.server = `https://127.0.0.1:${this.relayPort}`;
    this.kubeconfig = join(this.dir, "operator-relay.kubeconfig");
    writeFileSync(this.kubeconfig, JSON.stringify(cfg));
    this.spawn();
  }

  private spawn(): void {
    const gen = ++this.generation;
    const p = startNode(operatorArgs(this.kubeconfig), join(this.dir, `operator-${gen}.log`));
    this.proc = p;
    p.child.once("exit", () => {
      if (this.stopped || this.proc !== p) return;
      if (!this.killed.has(p)) this.restarts++;
      // The kubelet's first restart back-off.
      setTimeout(() => {
        if (!this.stopped && this.proc === p) this.spawn();
      }, 1000);
    });
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  get log(): string {
    return this.proc?.log ?? "";
  }

  /** SIGKILL now; started again (after 1 s) unless `stayDown`, in which case start it with resume(). */
  kill(stayDown = false): void {
    const p = this.proc;
    if (stayDown) this.proc = undefined;
    if (p) this.killed.add(p);
    p?.child.kill("SIGKILL");
  }

  resume(): void {
    if (!this.proc) this.spawn();
  }

  /** The port of /metrics of the running process, from its log. */
  metricsPort(): number | undefined {
    const m = /"msg":"serving \/metrics, \/healthz, \/readyz".*"port":(\d+)/.exec(
      readFileSync(this.log, "utf8"),
    );
    return m ? Number(m[1]) : undefined;
  }

  /** Whether the current process has become the leader (and so reconciles). */
  leading(): boolean {
    try {
      return /"msg":"reconciling"/.test(readFileSync(this.log, "utf8"));
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.proc?.stop();
  }
}

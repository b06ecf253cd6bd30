/**
 * The plugin's connection to the API server: kubectl's -n/--context/--kubeconfig (and KUBECONFIG)
 * resolved by @netmap/probe/kube's kubeconfig loader, the small node:https client the probe also
 * uses (loaded only by the online commands; @kubernetes/client-node would cost ~70 MB RSS and
 * seconds to load for every command), errors mapped to what to do (./errors.ts), and one refresh of
 * exec-plugin credentials after a 401, as client-go does.
 */
import type { KubeClient, KubeConnection, WatchEvent } from "@netmap/probe/kube";
import { CliError, isHintedError, TraceFailedError, UsageError } from "../cli/errors.js";
import type { KubeFlags } from "../cli/kube-flags.js";
import { pluginVersion } from "../version.js";
import { type ApiAction, type ApiWhere, explainApiError, isApiError } from "./errors.js";

type KubeModule = typeof import("@netmap/probe/kube");

/** What connecting needs besides kubectl's flags. */
export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  /** Whether an exec credential plugin may prompt on our stdin. */
  stdinIsTerminal: boolean;
}

/** A kubeconfig problem is the user's input (exit 1); a credential plugin that fails keeps the trace from running (2). */
function kubeconfigError(err: unknown, phase: "load" | "credentials"): CliError {
  if (err instanceof CliError) return err;
  if (isHintedError(err)) {
    return phase === "load"
      ? new UsageError(err.message, err.hint)
      : new TraceFailedError(err.message, { hint: err.hint, cause: err });
  }
  return new TraceFailedError(
    `cannot use the kubeconfig: ${err instanceof Error ? err.message : String(err)}`,
  );
}

export class Cluster {
  private client: KubeClient;
  private refreshed = false;

  private constructor(
    private readonly mod: KubeModule,
    readonly connection: KubeConnection,
    client: KubeClient,
    /** -n, else the context's namespace, else "default". */
    readonly namespace: string,
  ) {
    this.client = client;
  }

  /**
   * Reads the kubeconfig kubectl would read with these flags and gets the credentials (running an
   * exec plugin now, before any TUI takes the terminal).
   */
  static async connect(flags: KubeFlags, opts: ConnectOptions): Promise<Cluster> {
    const mod = await import("@netmap/probe/kube");
    let connection: KubeConnection;
    try {
      connection = await mod.loadKubeconfig({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        env: opts.env,
        stdinIsTerminal: opts.stdinIsTerminal,
        userAgent: `kubectl-netmap/${pluginVersion()}`,
      });
    } catch (err) {
      throw kubeconfigError(err, "load");
    }
    let target: Awaited<ReturnType<KubeConnection["target"]>>;
    try {
      target = await connection.target();
    } catch (err) {
      throw kubeconfigError(err, "credentials");
    }
    return new Cluster(mod, connection, new mod.KubeClient(target), flags.namespace ?? connection.namespace);
  }

  /** Where requests go, for messages. */
  get where(): ApiWhere {
    return { server: this.connection.server, context: this.connection.context, user: this.connection.user };
  }

  /** GET a JSON document. */
  get<T>(path: string, action: ApiAction): Promise<T> {
    return this.call(action, (c) => c.get<T>(path));
  }

  /**
   * GET an object that may be missing or unreadable to this user: "not-found" (404 naming the
   * object), "forbidden" (403); other errors are explained as for get.
   */
  async lookup<T>(path: string, action: ApiAction): Promise<T | "not-found" | "forbidden"> {
    return this.call(
      action,
      (c) => c.get<T>(path),
      (err) => {
        if (isApiError(err) && err.status === 404 && err.details?.name) return "not-found" as const;
        if (isApiError(err) && err.status === 403) return "forbidden" as const;
        return undefined;
      },
    );
  }

  /** POST (create) a JSON document. */
  create<T>(path: string, body: unknown, action: ApiAction): Promise<T> {
    return this.call(action, (c) => c.create<T>(path, body));
  }

  /** DELETE an object. */
  delete<T>(path: string, action: ApiAction, body?: unknown): Promise<T> {
    return this.call(action, (c) => c.delete<T>(path, body));
  }

  /**
   * One watch request (see KubeClient.watch): resolves when the server ends it, rejects with the
   * raw error (an ApiError, or a connection error) for the caller to resume or explain.
   */
  async watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    try {
      await this.client.watch<T>(path, onEvent, signal);
    } catch (err) {
      if (!(await this.refreshAfter(err))) throw err;
      await this.client.watch<T>(path, onEvent, signal);
    }
  }

  /** GET with the raw error (an ApiError or a connection error) for callers that retry. */
  async getRaw<T>(path: string): Promise<T> {
    try {
      return await this.client.get<T>(path);
    } catch (err) {
      if (!(await this.refreshAfter(err))) throw err;
      return this.client.get<T>(path);
    }
  }

  /** Maps an error from a request made for `action`. */
  explain(err: unknown, action: ApiAction): CliError {
    return explainApiError(err, action, this.where);
  }

  close(): void {
    this.client.close();
  }

  private async call<T, U = never>(
    action: ApiAction,
    f: (c: KubeClient) => Promise<T>,
    expected?: (err: unknown) => U | undefined,
  ): Promise<T | U> {
    const settle = (err: unknown): U => {
      const value = expected?.(err);
      if (value !== undefined) return value;
      throw this.explain(err, action);
    };
    try {
      return await f(this.client);
    } catch (err) {
      let retry: boolean;
      try {
        retry = await this.refreshAfter(err);
      } catch (e) {
        throw this.explain(e, action);
      }
      if (!retry) return settle(err);
      try {
        return await f(this.client);
      } catch (again) {
        return settle(again);
      }
    }
  }

  /** After a 401 with exec-plugin credentials, once: new credentials, new client. */
  private async refreshAfter(err: unknown): Promise<boolean> {
    if (!isApiError(err) || err.status !== 401 || !this.connection.refreshable || this.refreshed)
      return false;
    this.refreshed = true;
    let target: Awaited<ReturnType<KubeConnection["target"]>>;
    try {
      target = await this.connection.target({ refresh: true });
    } catch (e) {
      throw kubeconfigError(e, "credentials");
    }
    this.client.close();
    this.client = new this.mod.KubeClient(target);
    return true;
  }
}

/** The operator's command-line flags (see main.ts). */
import type { LogLevel } from "./observe/log.js";

export interface Flags {
  namespace: string;
  kubeconfig?: string;
  metricsHost: string;
  metricsPort: number;
  leaderElect: boolean;
  leaseName: string;
  workers: number;
  logLevel: LogLevel;
}

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv): Flags {
  const flags: Flags = {
    namespace: env.POD_NAMESPACE ?? "netmap",
    ...(env.KUBECONFIG ? { kubeconfig: env.KUBECONFIG } : {}),
    metricsHost: "0.0.0.0",
    metricsPort: 8080,
    leaderElect: true,
    leaseName: "netmap-operator",
    workers: 16,
    logLevel: "info",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq >= 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--namespace":
        flags.namespace = value();
        break;
      case "--kubeconfig":
        flags.kubeconfig = value();
        break;
      case "--metrics-addr": {
        const v = value();
        const c = v.lastIndexOf(":");
        flags.metricsHost = c > 0 ? v.slice(0, c) : "0.0.0.0";
        flags.metricsPort = Number(v.slice(c + 1));
        if (!Number.isInteger(flags.metricsPort)) throw new Error(`--metrics-addr ${v}: expected HOST:PORT`);
        break;
      }
      case "--leader-elect":
        flags.leaderElect = eq >= 0 ? arg.slice(eq + 1) !== "false" : true;
        break;
      case "--lease-name":
        flags.leaseName = value();
        break;
      case "--workers":
        flags.workers = Number(value());
        if (!Number.isInteger(flags.workers) || flags.workers < 1)
          throw new Error("--workers must be a positive integer");
        break;
      case "--log-level": {
        const v = value();
        if (!["debug", "info", "warn", "error"].includes(v))
          throw new Error(`--log-level ${v}: use debug, info, warn or error`);
        flags.logLevel = v as LogLevel;
        break;
      }
      default:
        throw new Error(`unknown flag ${arg} (see the header of operator/controller/src/main.ts)`);
    }
  }
  return flags;
}

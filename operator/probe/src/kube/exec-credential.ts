/**
 * Exec credential plugins (kubeconfig `users[].user.exec`, client.authentication.k8s.io v1 and
 * v1beta1), as client-go runs them: the command (relative paths with a separator resolve against
 * the kubeconfig's directory), its args and env on top of ours, KUBERNETES_EXEC_INFO with the
 * ExecCredential request (interactive or not, and the cluster when provideClusterInfo is set), the
 * terminal's stdin only when interactive, its stderr passed through (login prompts, errors), and
 * an ExecCredential on stdout with a token or a client certificate and key.
 */
import { spawn } from "node:child_process";
import { isAbsolute, join } from "node:path";

/** `users[].user.exec` of a kubeconfig. */
export interface ExecConfig {
  apiVersion?: string;
  command?: string;
  args?: string[] | null;
  env?: Array<{ name: string; value: string }> | null;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: "Never" | "IfAvailable" | "Always";
}

/** The cluster as an exec plugin sees it (ExecCredential spec.cluster). */
export interface ExecClusterInfo {
  server: string;
  "tls-server-name"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "certificate-authority-data"?: string;
  "proxy-url"?: string;
  "disable-compression"?: boolean;
  /** extensions["client.authentication.k8s.io/exec"] of the kubeconfig's cluster. */
  config?: unknown;
}

/** What a plugin returned. */
export interface ExecCredential {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** When the credential expires (expirationTimestamp); undefined: it does not. */
  expiresAt?: Date;
}

/** Why a credential could not be had, and what to do (matched by shape: message + hint). */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export interface ExecOptions {
  /** The directory of the kubeconfig file that defined the user. */
  dir: string;
  /** The user's name in the kubeconfig, for messages. */
  user: string;
  cluster: ExecClusterInfo;
  /** Whether our stdin is a terminal the plugin may prompt on. */
  stdinIsTerminal: boolean;
  env: NodeJS.ProcessEnv;
  /** Default: 5 minutes when interactive (a login), 60 s otherwise. */
  timeoutMs?: number;
}

const API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

/** The command to run: as written, or relative to the kubeconfig's directory when it has a separator. */
export function execCommandPath(command: string, dir: string): string {
  if (isAbsolute(command) || !command.includes("/")) return command;
  return join(dir, command);
}

/** Whether the plugin runs interactively, or the error when it must and cannot. */
export function execInteractive(exec: ExecConfig, stdinIsTerminal: boolean, user: string): boolean {
  const apiVersion = exec.apiVersion ?? "";
  const mode = exec.interactiveMode ?? (apiVersion.endsWith("/v1beta1") ? "IfAvailable" : undefined);
  if (mode === undefined)
    throw new KubeconfigError(
      `user ${user}: exec.interactiveMode is required for ${apiVersion}`,
      "set interactiveMode: Never, IfAvailable or Always in the kubeconfig's exec section",
    );
  if (mode === "Never") return false;
  if (mode === "Always" && !stdinIsTerminal)
    throw new KubeconfigError(
      `user ${user}: the exec credential plugin needs a terminal (interactiveMode: Always) and stdin is not one`,
      "run the command in a terminal, or log in with the plugin first",
    );
  return stdinIsTerminal;
}

/** Parses a plugin's stdout into a credential, checking what client-go checks. */
export function parseExecCredential(stdout: string, apiVersion: string, user: string): ExecCredential {
  let value: {
    apiVersion?: string;
    kind?: string;
    status?: {
      token?: string;
      clientCertificateData?: string;
      clientKeyData?: string;
      expirationTimestamp?: string;
    };
  };
  try {
    value = JSON.parse(stdout) as typeof value;
  } catch {
    throw new KubeconfigError(
      `user ${user}: the exec credential plugin did not print an ExecCredential (JSON) on stdout`,
      "run the plugin's command by hand to see what it prints",
    );
  }
  if (value.kind !== "ExecCredential" || value.apiVersion !== apiVersion)
    throw new KubeconfigError(
      `user ${user}: the exec credential plugin printed ${value.kind ?? "no kind"} ${value.apiVersion ?? ""}, not an ExecCredential ${apiVersion}`,
      "the kubeconfig's exec.apiVersion must be the version the plugin speaks",
    );
  const s = value.status ?? {};
  const out: ExecCredential = {};
  if (s.token) out.token = s.token;
  if (s.clientCertificateData || s.clientKeyData) {
    if (!s.clientCertificateData || !s.clientKeyData)
      throw new KubeconfigError(
        `user ${user}: the exec credential plugin returned a client certificate without its key (or a key without a certificate)`,
        "the plugin must print both clientCertificateData and clientKeyData",
      );
    out.cert = Buffer.from(s.clientCertificateData);
    out.key = Buffer.from(s.clientKeyData);
  }
  if (!out.token && !out.cert)
    throw new KubeconfigError(
      `user ${user}: the exec credential plugin returned neither a token nor a client certificate`,
      "run the plugin's command by hand: it may need you to log in first",
    );
  if (s.expirationTimestamp) {
    const at = new Date(s.expirationTimestamp);
    if (!Number.isNaN(at.getTime())) out.expiresAt = at;
  }
  return out;
}

/** Runs the exec plugin of user `opts.user` and returns its credential. */
export async function runExecPlugin(exec: ExecConfig, opts: ExecOptions): Promise<ExecCredential> {
  const apiVersion = exec.apiVersion ?? "";
  if (!API_VERSIONS.includes(apiVersion))
    throw new KubeconfigError(
      `user ${opts.user}: exec.apiVersion ${apiVersion || "(none)"} is not supported`,
      `use ${API_VERSIONS.join(" or ")} (v1alpha1 was removed in Kubernetes 1.24)`,
    );
  if (!exec.command)
    throw new KubeconfigError(`user ${opts.user}: exec has no command`, "set exec.command in the kubeconfig");
  const interactive = execInteractive(exec, opts.stdinIsTerminal, opts.user);
  const request = {
    apiVersion,
    kind: "ExecCredential",
    spec: { interactive, ...(exec.provideClusterInfo ? { cluster: opts.cluster } : {}) },
  };
  const env: NodeJS.ProcessEnv = { ...opts.env, KUBERNETES_EXEC_INFO: JSON.stringify(request) };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  const command = execCommandPath(exec.command, opts.dir);
  const timeoutMs = opts.timeoutMs ?? (interactive ? 300_000 : 60_000);
  const { code, stdout, error } = await new Promise<{ code: number | null; stdout: string; error?: Error }>(
    (resolve) => {
      const child = spawn(command, exec.args ?? [], {
        env,
        stdio: [interactive ? "inherit" : "ignore", "pipe", "inherit"],
        timeout: timeoutMs,
      });
      let out = "";
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (c: string) => {
        out += c;
      });
      child.on("error", (err) => resolve({ code: null, stdout: out, error: err }));
      child.on("close", (c) => resolve({ code: c, stdout: out }));
    },
  );
  if (error) {
    const notFound = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new KubeconfigError(
      `user ${opts.user}: cannot run the exec credential plugin ${command}: ${notFound ? "not found" : error.message}`,
      exec.installHint?.trim() ||
        `install ${exec.command} (kubectl runs the same command), or fix exec.command`,
    );
  }
  if (code !== 0)
    throw new KubeconfigError(
      `user ${opts.user}: the exec credential plugin ${command} failed (exit ${code ?? "by signal"}${code === null ? `, or no answer within ${timeoutMs / 1000}s` : ""})`,
      "its own message is above; run it by hand, or log in again",
    );
  return parseExecCredential(stdout, apiVersion, opts.user);
}

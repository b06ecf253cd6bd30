import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { execCommandPath, execInteractive, KubeconfigError, parseExecCredential } from "./exec-credential.js";
import { kubeconfigFiles, loadKubeconfig } from "./kubeconfig.js";

const dir = mkdtempSync(join(tmpdir(), "netmap-kubeconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, value: unknown): string {
  const full = join(dir, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, typeof value === "string" ? value : stringify(value));
  return full;
}

/** A kubeconfig with one cluster, user and context of each name given. */
function config(o: {
  current?: string;
  contexts?: Record<string, { cluster: string; user?: string; namespace?: string }>;
  clusters?: Record<string, Record<string, unknown>>;
  users?: Record<string, Record<string, unknown>>;
}) {
  return {
    apiVersion: "v1",
    kind: "Config",
    ...(o.current ? { "current-context": o.current } : {}),
    clusters: Object.entries(o.clusters ?? {}).map(([name, cluster]) => ({ name, cluster })),
    users: Object.entries(o.users ?? {}).map(([name, user]) => ({ name, user })),
    contexts: Object.entries(o.contexts ?? {}).map(([name, context]) => ({ name, context })),
  };
}

describe("kubeconfig files, as kubectl picks them", () => {
  it("reads --kubeconfig alone, KUBECONFIG's existing files in order, else ~/.kube/config", () => {
    const a = write("files/a", "{}");
    const b = write("files/b", "{}");
    expect(kubeconfigFiles({ kubeconfig: a, env: { KUBECONFIG: b } })).toEqual([a]);
    expect(kubeconfigFiles({ env: { KUBECONFIG: `${b}:${join(dir, "missing")}::${a}:${b}` } })).toEqual([
      b,
      a,
    ]);
    const home = join(dir, "home");
    expect(kubeconfigFiles({ env: { HOME: home } })).toEqual([]);
    const def = write("home/.kube/config", "{}");
    expect(kubeconfigFiles({ env: { HOME: home } })).toEqual([def]);
    expect(() => kubeconfigFiles({ kubeconfig: join(dir, "nope"), env: {} })).toThrow(/no such file/);
  });

  it("merges KUBECONFIG files: the first to name a cluster, user, context or current-context wins", async () => {
    const first = write(
      "merge/first.yaml",
      config({
        current: "dev",
        contexts: { dev: { cluster: "c1", user: "u1", namespace: "shop" } },
        clusters: { c1: { server: "https://first.example:6443", "insecure-skip-tls-verify": true } },
        users: { u1: { token: "first-token" } },
      }),
    );
    const second = write(
      "merge/second.yaml",
      config({
        current: "prod",
        contexts: { prod: { cluster: "c2", user: "u1" }, dev: { cluster: "c2", user: "u1" } },
        clusters: { c1: { server: "https://ignored.example" }, c2: { server: "https://second.example" } },
        users: { u1: { token: "ignored" } },
      }),
    );
    const env = { KUBECONFIG: `${first}:${second}` };
    const dev = await loadKubeconfig({ env });
    expect(dev).toMatchObject({
      context: "dev",
      cluster: "c1",
      namespace: "shop",
      server: "https://first.example:6443",
    });
    expect(dev.files).toEqual([first, second]);
    const t = await dev.target();
    expect(t.token?.()).toBe("first-token");
    expect(t.insecureSkipTlsVerify).toBe(true);
    const prod = await loadKubeconfig({ env, context: "prod" });
    expect(prod).toMatchObject({ context: "prod", server: "https://second.example", namespace: "default" });
    expect((await prod.target()).token?.()).toBe("first-token");
  });

  it("reads certificates and token files relative to the kubeconfig that names them", async () => {
    write("rel/pki/ca.crt", "CA PEM");
    write("rel/pki/user.crt", "CERT PEM");
    write("rel/pki/user.key", "KEY PEM");
    write("rel/token", "file-token\n");
    const file = write(
      "rel/config",
      config({
        current: "x",
        contexts: { x: { cluster: "c", user: "u" }, t: { cluster: "c", user: "tok" } },
        clusters: {
          c: {
            server: "https://10.0.0.1:6443",
            "certificate-authority": "pki/ca.crt",
            "tls-server-name": "kubernetes",
          },
        },
        users: {
          u: { "client-certificate": "pki/user.crt", "client-key": "pki/user.key" },
          tok: { tokenFile: "token" },
        },
      }),
    );
    const t = await (await loadKubeconfig({ kubeconfig: file, env: {} })).target();
    expect(t.ca?.toString()).toBe("CA PEM");
    expect(t.cert?.toString()).toBe("CERT PEM");
    expect(t.key?.toString()).toBe("KEY PEM");
    expect(t.tlsServerName).toBe("kubernetes");
    expect(t.token).toBeUndefined();
    const tok = await (await loadKubeconfig({ kubeconfig: file, env: {}, context: "t" })).target();
    expect(tok.token?.()).toBe("file-token");
    writeFileSync(join(dir, "rel/token"), "rotated\n");
    expect(tok.token?.()).toBe("rotated");
  });

  it("decodes the -data forms", async () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const file = write(
      "data/config",
      config({
        current: "x",
        contexts: { x: { cluster: "c", user: "u" } },
        clusters: { c: { server: "https://h:6443", "certificate-authority-data": b64("CA") } },
        users: { u: { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") } },
      }),
    );
    const t = await (await loadKubeconfig({ kubeconfig: file, env: {} })).target();
    expect([t.ca?.toString(), t.cert?.toString(), t.key?.toString()]).toEqual(["CA", "CERT", "KEY"]);
  });

  it("says which context is missing and which exist", async () => {
    const file = write(
      "ctx/config",
      config({
        contexts: { kind: { cluster: "c" }, prod: { cluster: "c" } },
        clusters: { c: { server: "https://h" } },
      }),
    );
    await expect(loadKubeconfig({ kubeconfig: file, env: {} })).rejects.toMatchObject({
      message: `no current context in ${file}`,
      hint: expect.stringContaining("--context (kind, prod)"),
    });
    await expect(loadKubeconfig({ kubeconfig: file, env: {}, context: "kin" })).rejects.toMatchObject({
      message: `context "kin" not found in ${file}`,
      hint: "its contexts: kind, prod",
    });
    const noFile = loadKubeconfig({ env: { HOME: join(dir, "nohome") } });
    await expect(noFile).rejects.toThrow(/no kubeconfig: .*nohome\/\.kube\/config does not exist/);
  });

  it("refuses what it cannot do instead of connecting as someone else", async () => {
    const users = {
      oidc: { "auth-provider": { name: "oidc" } },
      basic: { username: "a", password: "b" },
      imp: { token: "t", as: "admin" },
      half: { "client-certificate-data": Buffer.from("C").toString("base64") },
    };
    const file = write(
      "refuse/config",
      config({
        contexts: {
          ...Object.fromEntries(Object.keys(users).map((u) => [u, { cluster: "c", user: u }])),
          proxy: { cluster: "p" },
        },
        clusters: {
          c: { server: "https://h" },
          p: { server: "https://h", "proxy-url": "http://proxy:3128" },
        },
        users,
      }),
    );
    const why = (context: string) =>
      loadKubeconfig({ kubeconfig: file, env: {}, context }).then(
        () => "accepted",
        (e: KubeconfigError) => e.message,
      );
    expect(await why("oidc")).toMatch(/auth-provider "oidc"/);
    expect(await why("basic")).toMatch(/basic authentication/);
    expect(await why("imp")).toMatch(/impersonates/);
    expect(await why("half")).toMatch(/client certificate without its key/);
    expect(await why("proxy")).toMatch(/proxy-url http:\/\/proxy:3128/);
  });
});

describe("exec credential plugins", () => {
  /** A real plugin: a node script that answers with what it was given, and counts its runs. */
  const plugin = write(
    "exec/bin/plugin.mjs",
    `#!${process.execPath}
import { readFileSync, writeFileSync, existsSync } from "node:fs";
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
const counter = process.argv[2];
const n = existsSync(counter) ? Number(readFileSync(counter, "utf8")) + 1 : 1;
writeFileSync(counter, String(n));
if (process.env.PLUGIN_FAIL) { console.error("plugin: you must log in first"); process.exit(3); }
const status = process.env.PLUGIN_CERT
  ? { clientCertificateData: "CERT", clientKeyData: "KEY" }
  : { token: [n, info.spec.interactive, info.spec.cluster?.server ?? "-", process.env.PLUGIN_ENV].join("|"),
      expirationTimestamp: "2999-01-01T00:00:00Z" };
console.log(JSON.stringify({ apiVersion: info.apiVersion, kind: "ExecCredential", status }));
`,
  );
  chmodSync(plugin, 0o755);

  function execConfig(extra: Record<string, unknown>, counter: string) {
    return write(
      `exec/${counter}.yaml`,
      config({
        current: "x",
        contexts: { x: { cluster: "c", user: "u" } },
        clusters: { c: { server: "https://api.example:6443" } },
        users: {
          u: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1",
              command: "./bin/plugin.mjs",
              args: [join(dir, "exec", `${counter}.count`)],
              env: [{ name: "PLUGIN_ENV", value: "from-kubeconfig" }],
              interactiveMode: "IfAvailable",
              ...extra,
            },
          },
        },
      }),
    );
  }

  it("runs the plugin (relative to the kubeconfig) once, with its env and cluster info, and again on refresh", async () => {
    const file = execConfig({ provideClusterInfo: true }, "token");
    const conn = await loadKubeconfig({ kubeconfig: file, env: { PATH: process.env.PATH } });
    expect(conn.refreshable).toBe(true);
    const t1 = await conn.target();
    expect(t1.token?.()).toBe("1|false|https://api.example:6443|from-kubeconfig");
    expect((await conn.target()).token?.()).toBe(t1.token?.());
    const t2 = await conn.target({ refresh: true });
    expect(t2.token?.()).toBe("2|false|https://api.example:6443|from-kubeconfig");
    expect(readFileSync(join(dir, "exec", "token.count"), "utf8")).toBe("2");
  });

  it("takes a client certificate from the plugin, and says what to do when it fails or is missing", async () => {
    const cert = await loadKubeconfig({ kubeconfig: execConfig({}, "cert"), env: { PLUGIN_CERT: "1" } });
    const t = await cert.target();
    expect([t.cert?.toString(), t.key?.toString(), t.token]).toEqual(["CERT", "KEY", undefined]);
    const fail = await loadKubeconfig({ kubeconfig: execConfig({}, "fail"), env: { PLUGIN_FAIL: "1" } });
    await expect(fail.target()).rejects.toThrow(/plugin .*plugin\.mjs failed \(exit 3\)/);
    const missing = await loadKubeconfig({
      kubeconfig: execConfig(
        { command: "netmap-no-such-auth-plugin", installHint: "brew install it" },
        "missing",
      ),
      env: { PATH: "/nonexistent" },
    });
    await expect(missing.target()).rejects.toMatchObject({
      message: expect.stringContaining("netmap-no-such-auth-plugin: not found"),
      hint: "brew install it",
    });
  });

  it("decides interactivity and checks the answer as client-go does", () => {
    const v1 = { apiVersion: "client.authentication.k8s.io/v1" };
    const beta = { apiVersion: "client.authentication.k8s.io/v1beta1" };
    expect(() => execInteractive(v1, true, "u")).toThrow(/interactiveMode is required/);
    expect(execInteractive(beta, true, "u")).toBe(true);
    expect(execInteractive({ ...v1, interactiveMode: "Never" }, true, "u")).toBe(false);
    expect(() => execInteractive({ ...v1, interactiveMode: "Always" }, false, "u")).toThrow(
      /needs a terminal/,
    );
    expect(execCommandPath("aws", "/k")).toBe("aws");
    expect(execCommandPath("bin/x", "/k")).toBe("/k/bin/x");
    expect(execCommandPath("/usr/bin/x", "/k")).toBe("/usr/bin/x");
    const ok = (status: unknown) =>
      JSON.stringify({ apiVersion: v1.apiVersion, kind: "ExecCredential", status });
    expect(parseExecCredential(ok({ token: "t" }), v1.apiVersion, "u")).toEqual({ token: "t" });
    expect(() => parseExecCredential(ok({}), v1.apiVersion, "u")).toThrow(/neither a token nor/);
    expect(() => parseExecCredential(ok({ token: "t" }), beta.apiVersion, "u")).toThrow(
      /not an ExecCredential/,
    );
    expect(() => parseExecCredential("login at https://…", v1.apiVersion, "u")).toThrow(KubeconfigError);
  });
});

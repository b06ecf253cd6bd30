/**
 * The harness itself, on a real kube-apiserver + etcd: readiness, objects round-trip through etcd,
 * RBAC is enforced, Pod-bound ServiceAccount tokens carry their node, the repository's CRDs are
 * accepted and their CEL rules enforced, a restart keeps the data, and nothing is left behind.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type CelRule, celRules, minimalObject, readCrds } from "./crd.js";
import { CommandError } from "./exec.js";
import { type ControlPlane, startControlPlane } from "./index.js";
import { processesMentioning } from "./process.js";
import { repoRoot } from "./tools.js";

/** PIDs of live processes whose command line mentions `needle` (the control plane's dir). */
const pidsMentioning = (needle: string): number[] => processesMentioning(needle).map((p) => p.pid);

async function refused(p: Promise<unknown>): Promise<CommandError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CommandError) return e;
    throw e;
  }
  throw new Error("expected the API server to refuse the request, but it succeeded");
}

function tools(): { kubeApiserver: string; kubectl: string; etcd: string } {
  const t = inject("netmapTools");
  return { kubeApiserver: t["kube-apiserver"] ?? "", kubectl: t.kubectl ?? "", etcd: t.etcd ?? "" };
}

describe("control plane", () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane({ tools: tools() });
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("passes /readyz, etcd included", async () => {
    const verbose = await cp.kubectl(["get", "--raw", "/readyz?verbose"]);
    expect(verbose).toMatch(/\[\+\]etcd ok/);
    expect(verbose).toMatch(/readyz check passed/);
    const version = JSON.parse(await cp.kubectl(["version", "-o", "json"])) as {
      serverVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe("v1.33.13");
  });

  it("stores an object and reads it back", async () => {
    await cp.kubectl(["create", "namespace", "roundtrip"]);
    const data = { color: "blue", at: new Date().toISOString() };
    await cp.kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "roundtrip" },
        data,
      }),
    });
    const back = JSON.parse(
      await cp.kubectl(["get", "configmap", "settings", "-n", "roundtrip", "-o", "json"]),
    ) as {
      data: Record<string, string>;
      metadata: { uid: string };
    };
    expect(back.data).toEqual(data);
    expect(back.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("enforces RBAC on a ServiceAccount token until a Role grants it", async () => {
    const ns = "rbac";
    await cp.kubectl(["create", "namespace", ns]);
    await cp.kubectl(["create", "serviceaccount", "reader", "-n", ns]);
    const token = await cp.createToken({ namespace: ns, serviceAccount: "reader" });
    const kubeconfig = await cp.kubeconfigForToken(token, "reader");

    const denied = await refused(cp.kubectl(["get", "pods", "-n", ns], { kubeconfig }));
    expect(denied.stderr).toMatch(/Forbidden/);
    expect(denied.stderr).toContain(`system:serviceaccount:${ns}:reader`);

    await cp.kubectl(["create", "role", "pod-reader", "-n", ns, "--verb=get,list", "--resource=pods"]);
    await cp.kubectl([
      "create",
      "rolebinding",
      "reader",
      "-n",
      ns,
      "--role=pod-reader",
      `--serviceaccount=${ns}:reader`,
    ]);
    // The RBAC authorizer reads roles from its informer cache: allow it a moment to see the new ones.
    const deadline = Date.now() + 10_000;
    let allowed = false;
    while (!allowed && Date.now() < deadline) {
      allowed = await cp.kubectl(["get", "pods", "-n", ns], { kubeconfig }).then(
        () => true,
        () => false,
      );
      if (!allowed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(allowed).toBe(true);
    // Only what the Role grants: secrets stay forbidden, and so do pods elsewhere.
    expect((await refused(cp.kubectl(["get", "secrets", "-n", ns], { kubeconfig }))).stderr).toMatch(
      /Forbidden/,
    );
    expect((await refused(cp.kubectl(["get", "pods", "-n", "default"], { kubeconfig }))).stderr).toMatch(
      /Forbidden/,
    );
  });

  it("gives a Pod-bound token the node's name in the user's extra info", async () => {
    const ns = "probes";
    await cp.kubectl(["create", "namespace", ns]);
    await cp.kubectl(["create", "serviceaccount", "probe", "-n", ns]);
    await cp.kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Node", metadata: { name: "node-a" } },
          {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "probe-node-a", namespace: ns },
            spec: {
              nodeName: "node-a",
              serviceAccountName: "probe",
              containers: [{ name: "probe", image: "netmap-probe:test" }],
            },
          },
        ],
      }),
    });
    const token = await cp.createToken({
      namespace: ns,
      serviceAccount: "probe",
      boundPod: { namespace: ns, name: "probe-node-a" },
      expirationSeconds: 600,
    });
    const kubeconfig = await cp.kubeconfigForToken(token, "probe-node-a");
    const review = JSON.parse(await cp.kubectl(["auth", "whoami", "-o", "json"], { kubeconfig })) as {
      status: { userInfo: { username: string; extra?: Record<string, string[]> } };
    };
    const user = review.status.userInfo;
    expect(user.username).toBe(`system:serviceaccount:${ns}:probe`);
    expect(user.extra?.["authentication.kubernetes.io/node-name"]).toEqual(["node-a"]);
    expect(user.extra?.["authentication.kubernetes.io/pod-name"]).toEqual(["probe-node-a"]);

    // A token bound to a Pod outside the ServiceAccount's namespace is refused by the harness.
    await expect(
      cp.createToken({
        namespace: ns,
        serviceAccount: "probe",
        boundPod: { namespace: "default", name: "x" },
      }),
    ).rejects.toThrow(/namespace/);
  });

  it("accepts the repository's CRDs and enforces their CEL rules with the rules' own messages", async () => {
    const crdDir = join(repoRoot(), "crds");
    const files = readdirSync(crdDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(crdDir, f));
    const crds = files.flatMap(readCrds);
    expect(crds.length).toBeGreaterThan(0);

    const applied = await cp.kubectl(["apply", "--server-side", "--field-manager=netmap-test", "-f", crdDir]);
    for (const crd of crds) expect(applied).toContain(crd.name);
    await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      ...crds.map((c) => `crd/${c.name}`),
    ]);

    await cp.kubectl(["create", "namespace", "crd"]);
    let checked = 0;
    for (const crd of crds) {
      const version = crd.versions.find((v) => v.storage);
      if (!version) continue;
      const rules: CelRule[] = celRules(version.schema).filter((r) => r.message !== undefined);
      if (rules.length === 0) continue;
      // The smallest object the schema allows reaches the CEL rules (required fields only): some
      // rule must refuse it, and the API server must answer with that rule's message from the file.
      const obj = minimalObject(crd, "cel-check", "crd");
      const err = await refused(cp.kubectl(["create", "-f", "-"], { input: JSON.stringify(obj) }));
      const hit = rules.filter((r) => err.stderr.includes(r.message as string));
      expect(
        hit.length,
        `${crd.name}: the API server refused ${JSON.stringify(obj)} with "${err.stderr.trim()}", which names none of the file's rule messages`,
      ).toBeGreaterThan(0);
      expect(err.stderr).toMatch(/is invalid/);
      for (const r of hit) {
        process.stderr.write(
          `[control-plane] msg="CEL rule enforced" crd=${crd.name} path=${r.path} rule=${JSON.stringify(r.rule)} message=${JSON.stringify(r.message)}\n`,
        );
      }
      // The server stores the rules as the file has them.
      const stored = JSON.parse(await cp.kubectl(["get", `crd/${crd.name}`, "-o", "json"])) as {
        spec: { versions: { name: string; schema: { openAPIV3Schema: Parameters<typeof celRules>[0] } }[] };
      };
      const storedVersion = stored.spec.versions.find((v) => v.name === version.name);
      // (properties come back in the server's order: compare the rules as sets)
      const key = (r: CelRule): string => `${r.path} ${r.rule}`;
      const sorted = (rs: CelRule[]): CelRule[] => [...rs].sort((a, b) => key(a).localeCompare(key(b)));
      expect(sorted(celRules(storedVersion?.schema.openAPIV3Schema ?? {}))).toEqual(
        sorted(celRules(version.schema)),
      );
      checked++;
    }
    expect(checked, "no CRD in crds/ has an x-kubernetes-validations rule with a message").toBeGreaterThan(0);
  });

  it("keeps the data across restartApiServer()", async () => {
    await cp.kubectl(["create", "namespace", "restart"]);
    await cp.kubectl(["create", "configmap", "survivor", "-n", "restart", "--from-literal=k=v"]);
    const before = JSON.parse(
      await cp.kubectl(["get", "configmap", "survivor", "-n", "restart", "-o", "json"]),
    ) as {
      metadata: { uid: string };
    };
    const apiPidsBefore = pidsMentioning(cp.dir).length;
    await cp.restartApiServer();
    const after = JSON.parse(
      await cp.kubectl(["get", "configmap", "survivor", "-n", "restart", "-o", "json"]),
    ) as {
      metadata: { uid: string };
      data: Record<string, string>;
    };
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.data).toEqual({ k: "v" });
    expect(await cp.kubectl(["get", "--raw", "/readyz"])).toBe("ok");
    expect(pidsMentioning(cp.dir).length).toBe(apiPidsBefore);
    expect(readFileSync(cp.apiServerLog, "utf8")).toMatch(/Serving securely on 127\.0\.0\.1/);
  });

  it("stop() ends etcd and kube-apiserver and removes the directory", async () => {
    const dir = cp.dir;
    expect(pidsMentioning(dir)).toHaveLength(2);
    await cp.stop();
    expect(pidsMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    await cp.stop(); // idempotent
  });
});

describe("a start that fails half-way", () => {
  it("stops etcd again, removes its directory and says why", async () => {
    const err = await startControlPlane({
      tools: tools(),
      extraApiServerArgs: ["--no-such-flag=1"],
      readyTimeoutMs: 30_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(/kube-apiserver exited/);
    expect(message).toMatch(/unknown flag: --no-such-flag/);
    const dir = /\((\/[^)]*netmap-cp-[^/)]+)\/kube-apiserver\.log\)/.exec(message)?.[1];
    expect(dir, message).toBeDefined();
    expect(pidsMentioning(dir as string)).toEqual([]);
    expect(existsSync(dir as string)).toBe(false);
  });
});

/** Node 24 (the workspace's dev dependency) runs the harness's .ts sources directly. */
function node24(): string {
  const bundled = join(repoRoot(), "node_modules", "node", "bin", "node");
  return existsSync(bundled) ? bundled : process.execPath;
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: still not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a test runner that dies", () => {
  for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
    it(`takes etcd and kube-apiserver with it on ${signal}`, async () => {
      const script = join(repoRoot(), "e2e", "control-plane", "testdata", "hold-control-plane.mjs");
      const t = tools();
      const child = spawn(node24(), [script], {
        env: { ...process.env, NETMAP_CP_QUIET: "1", NETMAP_TOOLS_JSON: JSON.stringify(t) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on("exit", (_code, sig) => resolve(sig)),
      );
      try {
        await until(
          "the child's control plane is up",
          () => stdout.includes("\n") || child.exitCode !== null,
          90_000,
        );
      } catch (e) {
        child.kill("SIGKILL");
        throw new Error(`${e instanceof Error ? e.message : String(e)}; child stderr:\n${stderr}`);
      }
      expect(child.exitCode, stderr).toBeNull();
      const { dir } = JSON.parse(stdout.split("\n")[0] ?? "{}") as { dir: string };
      expect(pidsMentioning(dir)).toHaveLength(2);

      child.kill(signal);
      expect(await exited).toBe(signal);
      await until(`etcd and kube-apiserver of ${dir} gone`, () => pidsMentioning(dir).length === 0, 10_000);
      if (signal === "SIGKILL") {
        // Nothing runs in a SIGKILLed process: the parent-death signal ended its children, but its
        // temp dir stays (the OS's tmp cleaning takes it).
        rmSync(dir, { recursive: true, force: true });
      } else {
        expect(existsSync(dir)).toBe(false);
      }
    });
  }
});

/**
 * The probe's privileges, measured on the kernel lab: its real read of a node (the probe agent's
 * walkSegment, in a process of its own) run as the chart's probe container runs — root with only
 * NET_ADMIN, SYS_ADMIN and SYS_PTRACE in its bounding set, no_new_privs (allowPrivilegeEscalation:
 * false), the root filesystem read-only with a writable tmpfs as TMPDIR — gives the same walk as with every
 * privilege; and each capability, taken away, breaks the read with a message naming what failed:
 *
 *   NET_ADMIN   nft and iptables (nf_tables over netlink) refuse to list anything
 *   SYS_ADMIN   nsenter cannot setns into a network namespace
 *   SYS_PTRACE  /proc/<pid>/ns/net of another user's process cannot be opened (a pod's netns
 *               found through its processes, as on a node where the probe has hostPID)
 *
 * What this cannot show: seccomp RuntimeDefault (no container runtime here) and a real node's
 * runtime-mounted netns; the kind e2e (e2e/kind/netmap-suite.ts) checks both on real nodes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterFacts, NodeTask } from "@netmap/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, type Lab } from "../lab/lab.js";
import { installServices } from "../lab/services.js";

const SCRIPT = fileURLToPath(new URL("./probe-read.ts", import.meta.url));
const CHART_CAPS = ["net_admin", "sys_admin", "sys_ptrace"];
let lab: Lab;

beforeAll(async () => {
  lab = await createLab({ name: "fltcaps", nodes: 3, podsPerNode: 2, overlay: "vxlan" });
  await installServices(lab, "iptables");
}, 180_000);

afterAll(async () => {
  await lab?.destroy();
});

interface Confinement {
  /** Capabilities left in the bounding set (lower case, without CAP_); undefined: all of them. */
  caps?: readonly string[];
  /** Root filesystem read-only (a private mount namespace), TMPDIR a fresh tmpfs. */
  readOnlyRoot?: boolean;
}

/** An empty directory for the confined runs' tmpfs (each run mounts its own, in its own mount namespace). */
let scratch: string | undefined;
function scratchDir(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), "netmap-probe-tmp-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return scratch;
}

/** Runs probe-read.ts confined as the probe container would be; resolves with its JSON answer. */
function probeRead(args: readonly string[], c: Confinement): Promise<Record<string, unknown>> {
  const node = [process.execPath, "--max-semi-space-size=2", SCRIPT, ...args];
  const confined = c.caps
    ? [
        "setpriv",
        "--no-new-privs",
        `--bounding-set=-all,${c.caps.map((x) => `+${x}`).join(",")}`,
        "--inh-caps=-all",
        "--",
        ...node,
      ]
    : node;
  const argv = c.readOnlyRoot
    ? [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        // The probe's /tmp (an emptyDir in its pod) is a fresh tmpfs on a scratch directory given as
        // TMPDIR, not on /tmp itself: a checkout under /tmp would vanish beneath it.
        'mount -o bind,remount,ro / && mount -t tmpfs -o size=64m tmpfs "$0" && TMPDIR="$0" exec "$@"',
        scratchDir(),
        ...confined,
      ]
    : confined;
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`probe-read exited ${code} without an answer: ${out}${err}`));
      }
    });
  });
}

/** pod-1-1 → pod-1-2 on node-1, tcp 8080: through cni0 with bridge netfilter, so iptables is read. */
function walkInput(): string {
  const [a, b] = [lab.pods.find((p) => p.name === "pod-1-1"), lab.pods.find((p) => p.name === "pod-1-2")];
  const n = lab.nodes[0];
  if (!a || !b || !n) throw new Error("the lab lacks pod-1-1, pod-1-2 or node-1");
  const task: NodeTask = {
    step: 0,
    node: n.name,
    direction: "request",
    arrival: { kind: "local", packet: { protocol: "tcp", src: a.ip, dst: b.ip, sport: 40000, dport: 8080 } },
    firstHop: 0,
    conntrack: [],
  };
  const facts: ClusterFacts = {
    nodes: lab.nodes.map((x) => ({ name: x.name, addresses: [x.underlayIp], podCIDRs: [x.podCidr] })),
    pods: lab.pods.map((p) => ({ namespace: p.namespace, name: p.name, ips: [p.ip], node: p.node })),
    services: [],
  };
  return JSON.stringify({ node: n.name, hostNetns: `/var/run/netns/${n.netns}`, task, facts });
}

/** The hops with each evidence line's packet and byte counters (`-c N M`, nft's `counter packets N bytes M`) zeroed. */
function withoutCounters(hops: unknown): unknown {
  return JSON.parse(
    JSON.stringify(hops)
      .replace(/ -c \d+ \d+/g, " -c 0 0")
      .replace(/counter packets \d+ bytes \d+/g, "counter packets 0 bytes 0"),
  );
}

describe("the probe's privileges", () => {
  let full: Record<string, unknown>;

  it("walks a node with every privilege (the reference)", async () => {
    full = await probeRead(["walk", walkInput()], {});
    expect(full.ok, String(full.error)).toBe(true);
    expect((full.hops as unknown[]).length).toBeGreaterThan(5);
  });

  it("walks it the same as the chart's probe container: NET_ADMIN, SYS_ADMIN, SYS_PTRACE only, no_new_privs, read-only root", async () => {
    const confined = await probeRead(["walk", walkInput()], { caps: CHART_CAPS, readOnlyRoot: true });
    expect(confined.ok, String(confined.error)).toBe(true);
    // Rule counters are live (a packet in the lab between the two reads moves them): compare the rules.
    expect(withoutCounters(confined.hops)).toEqual(withoutCounters(full.hops));
    expect(confined.end).toEqual(full.end);
  });

  it("cannot read netfilter without NET_ADMIN, and says so", async () => {
    const r = await probeRead(["walk", walkInput()], {
      caps: ["sys_admin", "sys_ptrace"],
      readOnlyRoot: true,
    });
    expect(r.ok).toBe(false);
    expect(String(r.error)).toMatch(/you must be root\).*needs CAP_NET_ADMIN/s);
  });

  it("cannot enter a network namespace without SYS_ADMIN, and says so", async () => {
    const r = await probeRead(["walk", walkInput()], {
      caps: ["net_admin", "sys_ptrace"],
      readOnlyRoot: true,
    });
    expect(r.ok).toBe(false);
    expect(String(r.error)).toMatch(/cannot enter netns .*Operation not permitted.*CAP_SYS_ADMIN/s);
  });

  it("needs SYS_PTRACE for the netns of another user's process, as pods are found with hostPID", async () => {
    // A process of user nobody in a network namespace of its own: a pod's, seen through /proc.
    const holder = spawn(
      "unshare",
      [
        "--net",
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "sleep",
        "120",
      ],
      { stdio: "ignore" },
    );
    try {
      await new Promise((r) => setTimeout(r, 500));
      // unshare and setpriv exec (no fork): the pid is sleep's.
      const netns = `/proc/${holder.pid}/ns/net`;
      const withPtrace = await probeRead(["exec", netns, "ip", "-j", "link", "show"], {
        caps: CHART_CAPS,
        readOnlyRoot: true,
      });
      expect(withPtrace.ok, String(withPtrace.error ?? withPtrace.stderr)).toBe(true);
      const without = await probeRead(["exec", netns, "ip", "-j", "link", "show"], {
        caps: ["net_admin", "sys_admin"],
        readOnlyRoot: true,
      });
      expect(without.ok).toBe(false);
      expect(String(without.error)).toMatch(
        /cannot open netns \/proc\/\d+\/ns\/net: permission denied .*CAP_SYS_PTRACE/s,
      );
    } finally {
      holder.kill("SIGKILL");
    }
  });
});

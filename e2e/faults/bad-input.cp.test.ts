/**
 * Bad input, on a real API server over the kernel lab: each is refused, or answered with a reason
 * that says what is wrong — and nothing crashes (the operator and the probes are the same processes
 * at the end as at the start). Unknown pods and Services, a pod without an IP or a node, a pod on a
 * NotReady node, a Service without endpoints, an IPv6 destination on an IPv4 path, an IP that belongs
 * to no pod (answered as the offline trace answers it), a node whose kernel dumps arrive truncated or
 * garbled (`ip` and `iptables` wrapped on that node's probe only), and names and labels at their
 * length limits.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NetworkTrace } from "@netmap/api";
import { describe, expect, it } from "vitest";
import { CommandError } from "../control-plane/index.js";
import { apply, LAB_NAMESPACE, runTrace, startProbe } from "../operator/cluster.js";
import { afterStateTtl, comparable, offlineTrace, onlineFixture, resultOf } from "../operator/fixture.js";

const f = onlineFixture({ labName: "fltbad", overlay: "vxlan", mode: "iptables" });

let count = 0;
const traceName = (what: string) => `${what}-${++count}`;

async function events(name: string, ns = LAB_NAMESPACE): Promise<string> {
  return f.cp.kubectl([
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.name=${name}`,
    "-o",
    "json",
  ]);
}

async function refused(obj: unknown): Promise<string> {
  try {
    await f.cp.kubectl(["create", "-f", "-"], { input: JSON.stringify(obj) });
  } catch (e) {
    if (e instanceof CommandError) return e.stderr;
    throw e;
  }
  throw new Error(`the API server accepted ${JSON.stringify(obj).slice(0, 200)}`);
}

/** The processes that must still be the same ones at the end: nothing crashed. */
const pids = () => ({
  operator: f.operator.child.pid,
  exited: [f.operator, ...f.probes.values()].filter(
    (p) => p.child.exitCode !== null || p.child.signalCode !== null,
  ).length,
});

describe("bad input: refused or answered with a reason, nothing crashes", () => {
  const start = { operator: 0 };

  it("refuses an unknown pod and an unknown Service, with the close names", async () => {
    start.operator = f.operator.child.pid ?? 0;
    const pod = await runTrace(f.cp, traceName("unknown-pod"), {
      source: { pod: "pod-1-l" },
      destination: { pod: "pod-2-1" },
      protocol: "icmp",
    });
    expect(pod.status?.phase).toBe("Failed");
    expect(pod.status?.message).toMatch(
      /^source pod netmap-lab\/pod-1-l not found; did you mean pod-1-1 or pod-1-2\b/,
    );
    expect(pod.status?.conditions?.find((c) => c.type === "Resolved")).toMatchObject({
      status: "False",
      reason: "PodNotFound",
    });
    const svc = await runTrace(f.cp, traceName("unknown-svc"), {
      source: { pod: "pod-1-1" },
      destination: { service: "wbe" },
      port: 80,
    });
    expect(svc.status?.phase).toBe("Failed");
    expect(svc.status?.message).toMatch(/^Service netmap-lab\/wbe not found; did you mean web/);
    const port = await runTrace(f.cp, traceName("wrong-port"), {
      source: { pod: "pod-1-1" },
      destination: { service: "web" },
      port: 81,
    });
    expect(port.status?.message).toBe("Service netmap-lab/web has no TCP port 81; its ports: 80/TCP (http)");
    expect(await events(pod.metadata.name ?? "")).toContain("PodNotFound");
  });

  it("says a pod has no IP yet, or no node yet, and what to do", async () => {
    await apply(f.cp, [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "starting", namespace: LAB_NAMESPACE },
        spec: { nodeName: "node-1", containers: [{ name: "c", image: "lab.invalid/c:1" }] },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "unscheduled", namespace: LAB_NAMESPACE },
        spec: { containers: [{ name: "c", image: "lab.invalid/c:1" }] },
      },
    ]);
    const noIp = await runTrace(f.cp, traceName("no-ip"), {
      source: { pod: "pod-1-1" },
      destination: { pod: "starting" },
      port: 8080,
    });
    expect(noIp.status?.phase).toBe("Failed");
    expect(noIp.status?.message).toBe(
      "destination pod netmap-lab/starting has no IP yet (phase Pending): wait until it runs, then trace again",
    );
    const noNode = await runTrace(f.cp, traceName("no-node"), {
      source: { pod: "unscheduled" },
      destination: { pod: "pod-1-1" },
      protocol: "icmp",
    });
    expect(noNode.status?.message).toBe(
      "source pod netmap-lab/unscheduled is not scheduled to a node yet: wait until it runs, then trace again",
    );
  });

  it("traces through a NotReady node (its kernel is real), warns, and names it NotReady when its probe does not answer", async () => {
    const setReady = (status: "True" | "False") =>
      f.cp.kubectl([
        "patch",
        "node",
        "node-3",
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            conditions: [
              {
                type: "Ready",
                status,
                reason: status === "True" ? "KubeletReady" : "KubeletNotReady",
                message: status === "True" ? "lab node" : "container runtime network not ready",
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        }),
      ]);
    await setReady("False");
    try {
      const ok = await runTrace(f.cp, traceName("notready"), {
        source: { pod: "pod-1-1" },
        destination: { pod: "pod-3-1" },
        protocol: "icmp",
      });
      expect(ok.status?.phase, ok.status?.message).toBe("Succeeded");
      expect(ok.status?.verdict).toBe("Delivered");
      expect(await events(ok.metadata.name ?? "")).toMatch(
        /step 1 \(request\) goes to node node-3 is NotReady since [0-9T:.-]+Z \(KubeletNotReady: container runtime network not ready\): its probe may not answer/,
      );
      await f.probes.get("node-3")?.stop();
      try {
        const gone = await runTrace(f.cp, traceName("notready-noprobe"), {
          source: { pod: "pod-1-1" },
          destination: { pod: "pod-3-1" },
          protocol: "icmp",
          timeoutSeconds: 3,
        });
        expect(gone.status?.phase).toBe("Failed");
        expect(gone.status?.message).toMatch(
          /^node node-3 did not answer step 1 \(request\) within the trace's 3s: node node-3 is NotReady since .* \(KubeletNotReady: container runtime network not ready\); is the netmap probe running on node-3\?/,
        );
      } finally {
        await f.restartProbe("node-3");
      }
    } finally {
      await setReady("True");
    }
  });

  it("answers a Service without endpoints with kube-proxy's REJECT and the finding", async () => {
    const t = await runTrace(f.cp, traceName("no-endpoints"), {
      source: { pod: "pod-1-2" },
      destination: { service: "empty" },
      port: 80,
    });
    expect(t.status?.phase).toBe("Succeeded");
    expect(t.status?.verdict).toBe("Rejected");
    expect(t.status?.findings?.find((x) => x.code === "SERVICE_NO_ENDPOINTS")?.message).toMatch(
      /no ready endpoints/,
    );
  });

  it("refuses an IPv6 destination on an IPv4 path, naming both families", async () => {
    const ip = await runTrace(f.cp, traceName("ipv6-ip"), {
      source: { pod: "pod-1-1" },
      destination: { ip: "fd00:10:244::5" },
      protocol: "icmp",
    });
    expect(ip.status?.phase).toBe("Failed");
    expect(ip.status?.message).toBe(
      "the source 10.244.1.2 is IPv4 and the destination fd00:10:244::5 is IPv6: a packet cannot cross families; pick a destination of the source's family",
    );
    await apply(f.cp, [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "v6-only", namespace: LAB_NAMESPACE },
        spec: { nodeName: "node-2", containers: [{ name: "c", image: "lab.invalid/c:1" }] },
      },
    ]);
    await f.cp.kubectl([
      "patch",
      "pod",
      "v6-only",
      "-n",
      LAB_NAMESPACE,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: { phase: "Running", podIP: "fd00:10:244:2::7", podIPs: [{ ip: "fd00:10:244:2::7" }] },
      }),
    ]);
    const pod = await runTrace(f.cp, traceName("ipv6-pod"), {
      source: { pod: "pod-1-1" },
      destination: { pod: "v6-only" },
      protocol: "icmp",
    });
    expect(pod.status?.message).toMatch(
      /the destination fd00:10:244:2::7 is IPv6: a packet cannot cross families/,
    );
    const node = await runTrace(f.cp, traceName("ipv6-from-node"), {
      source: { node: "node-1" },
      destination: { ip: "fd00::1" },
      protocol: "icmp",
    });
    expect(node.status?.message).toMatch(
      /^the source 172\.31\.\d+\.1 is IPv4 and the destination fd00::1 is IPv6/,
    );
  });

  it("answers an IP that belongs to no pod as the offline trace does (where and why it stops)", async () => {
    const src = f.pod("pod-1-1");
    for (const ip of ["10.244.9.9", "192.0.2.10"]) {
      const t = await runTrace(f.cp, traceName("no-pod-ip"), {
        source: { pod: src.name },
        destination: { ip },
        protocol: "icmp",
      });
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(t.status?.destination).toBe(ip);
      expect(t.status?.verdict).not.toBe("Delivered");
      expect(t.status?.reason ?? "").not.toBe("");
      expect(comparable(resultOf(t))).toEqual(
        comparable(await offlineTrace(f.lab, { protocol: "icmp", src: src.ip, dst: ip })),
      );
      console.log(
        `[bad-input] ${src.name} → ${ip}: ${t.status?.verdict} at hop ${t.status?.stoppedAt}: ${t.status?.reason}`,
      );
    }
  });

  describe("a node whose kernel dumps arrive damaged", () => {
    const dir = mkdtempSync(join(tmpdir(), "netmap-fltbad-wrap-"));
    const MODE = join(dir, "mode");
    /** `ip` and `iptables` for node-2's probe only: pass-through, or damaged as MODE says. */
    const wrap = (tool: string, real: string, flag: string) => {
      const file = join(dir, tool);
      writeFileSync(
        file,
        `#!/bin/sh
# netmap fault injection: ${tool} whose answers arrive damaged when ${MODE} says so.
mode=$(cat ${MODE} 2>/dev/null)
case "$mode" in
  ${tool}-truncate)
    out=$(${real} "$@"); rc=$?
    case " $* " in *" ${flag} "*) printf '%s' "$out" | head -c $(( \${#out} * 2 / 3 )); exit $rc ;; esac
    printf '%s\\n' "$out"; exit $rc ;;
  ${tool}-garbage)
    case " $* " in *" ${flag} "*) ${real} "$@" >/dev/null; printf '\\001\\002 Segmentation fault (core dumped) {"ifindex": ['; exit 0 ;; esac ;;
esac
exec ${real} "$@"
`,
      );
      chmodSync(file, 0o755);
    };
    wrap("ip", "/usr/sbin/ip", "-j");
    wrap("iptables", "/usr/sbin/iptables", "-S");

    const cross = () => ({
      source: { pod: "pod-1-1" },
      destination: { pod: "pod-2-1" },
      protocol: "tcp" as const,
      port: 8080,
    });
    let probePid: number | undefined;

    it("starts node-2's probe with the wrapped tools (passing everything through)", async () => {
      writeFileSync(MODE, "none");
      await f.probes.get("node-2")?.stop();
      const p = await startProbe(f.cp, f.lab, "node-2", f.dir, { PATH: `${dir}:${process.env.PATH ?? ""}` });
      f.probes.set("node-2", p);
      probePid = p.child.pid;
      const t = await runTrace(f.cp, traceName("wrapped-ok"), cross());
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    });

    for (const [mode, says] of [
      ["ip-truncate", /ip -j [a-z -]+: output is not JSON \(/],
      ["ip-garbage", /ip -j [a-z -]+: output is not JSON \(/],
      ["iptables-truncate", /iptables -t (nat|filter|raw|mangle|security) -S [A-Z-]+ -v: line \d+: /],
      [
        "iptables-garbage",
        /iptables -t (nat|filter|raw|mangle|security) -S [A-Z-]+ -v: line 1: not an iptables -S line/,
      ],
    ] as const)
      it(`reports ${mode} on node-2 as the trace's reason, and the probe lives on`, async () => {
        writeFileSync(MODE, mode);
        await afterStateTtl();
        const t = await runTrace(f.cp, traceName(mode), cross());
        writeFileSync(MODE, "none");
        console.log(`[bad-input] ${mode}: ${t.status?.phase}: ${t.status?.message}`);
        expect(t.status?.phase).toBe("Failed");
        expect(t.status?.message).toMatch(/^the probe on node node-2 could not walk step 1: /);
        expect(t.status?.message).toMatch(says);
        expect(t.status?.message).toContain(
          "netmap could not read what a tool on node node-2 printed (cut short, garbled, or a format it does not know): trace again",
        );
        const probe = f.probes.get("node-2");
        expect(probe?.child.pid).toBe(probePid);
        expect(probe?.child.exitCode).toBeNull();
      });

    it("walks node-2 again once its dumps are whole, with the same probe process", async () => {
      writeFileSync(MODE, "none");
      await afterStateTtl();
      const t = await runTrace(f.cp, traceName("wrapped-ok-again"), cross());
      expect(t.status?.phase, t.status?.message).toBe("Succeeded");
      expect(f.probes.get("node-2")?.child.pid).toBe(probePid);
    });
  });

  it("traces with names and labels at their length limits; one character more is refused", async () => {
    const ns = `n${"s".repeat(61)}n`; // 63: a namespace's limit (a DNS label)
    const podName = `p${"o".repeat(251)}d`; // 253: a pod's limit (a DNS subdomain)
    const name = `t${"r".repeat(228)}e`; // 230: NetworkTrace's limit (its segments are <name>-<step>)
    const labelKey = `${"l".repeat(63)}.${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(61)}/${"k".repeat(63)}`; // prefix 253, name 63
    const labelValue = "v".repeat(63);
    const twin = f.pod("pod-2-2");
    await apply(f.cp, [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: ns } },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: podName, namespace: ns, labels: { [labelKey]: labelValue } },
        spec: {
          nodeName: twin.node,
          automountServiceAccountToken: false,
          containers: [{ name: "c", image: "lab.invalid/c:1" }],
        },
      },
    ]);
    await f.cp.kubectl([
      "patch",
      "pod",
      podName,
      "-n",
      ns,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { phase: "Running", podIP: twin.ip, podIPs: [{ ip: twin.ip }] } }),
    ]);
    await f.cp.kubectl(["create", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "netmap.io/v1alpha1",
        kind: "NetworkTrace",
        metadata: {
          name,
          namespace: ns,
          labels: { [labelKey]: labelValue },
          annotations: { [labelKey]: "x".repeat(4096) },
        },
        spec: {
          source: { pod: podName },
          destination: { namespace: LAB_NAMESPACE, pod: "pod-1-1" },
          protocol: "icmp",
        },
      }),
    });
    let t: NetworkTrace | undefined;
    const deadline = Date.now() + 60_000;
    for (;;) {
      t = JSON.parse(await f.cp.kubectl(["get", "ntrace", name, "-n", ns, "-o", "json"])) as NetworkTrace;
      if (t.status?.phase === "Succeeded" || t.status?.phase === "Failed") break;
      if (Date.now() > deadline) throw new Error(`trace ${name} still ${t.status?.phase}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(t.status?.phase, t.status?.message).toBe("Succeeded");
    expect(t.status?.verdict).toBe("Delivered");
    expect(t.status?.source).toBe(`${ns}/${podName} (${twin.ip} on ${twin.node})`);
    const segs = await f.cp.kubectl(["get", "ntseg", "-n", ns, "-o", "name"]);
    expect(segs).toContain(`${name}-0`);
    expect(await events(name, ns)).toContain("Delivered");
    expect(
      await refused({
        apiVersion: "netmap.io/v1alpha1",
        kind: "NetworkTrace",
        metadata: { name: `${name}x`, namespace: ns },
        spec: {
          source: { pod: podName },
          destination: { namespace: LAB_NAMESPACE, pod: "pod-1-1" },
          protocol: "icmp",
        },
      }),
    ).toContain("the name is too long: at most 230 characters");
  });

  it("crashed nothing: the operator and every probe are the processes they were", () => {
    const now = pids();
    expect(now.operator).toBe(start.operator);
    expect(now.exited).toBe(0);
  });
});

/**
 * The real `kubectl-netmap` binary, online, end to end: a real API server, the chart's manifests,
 * the real operator and one real probe per node of a kernel lab (VXLAN, the CNI bridge plugin,
 * kube-proxy's iptables rules), and a person's kubeconfig (a client certificate for user "dev",
 * bound to the least RBAC the plugin needs). Every run must print what the offline form prints for
 * the same lab (the same hops and verdict, the text byte for byte) and exit with its verdict's code.
 */
import { execFileSync, spawnSync } from "node:child_process";
import type { Packet, TraceResult } from "@netmap/core";
import { afterAll, describe, expect, it } from "vitest";
import { renderText } from "../../kubectl-plugin/src/render/text.js";
import { execCommand } from "../control-plane/index.js";
import { SERVICE_PORT } from "../lab/services.js";
import { apply, LAB_NAMESPACE } from "./cluster.js";
import { afterStateTtl, comparable, offlineTrace, onlineFixture } from "./fixture.js";

const f = onlineFixture({ labName: "clionline", overlay: "vxlan", mode: "iptables" });
const BIN = new URL("../../kubectl-plugin/bin/kubectl-netmap.js", import.meta.url).pathname;
const offline = (packet: Packet, endpoint?: number) => offlineTrace(f.lab, packet, endpoint);

/** What a person needs to run kubectl netmap (no more: the test proves it is enough). */
const USER_RBAC = [
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "netmap-tracer" },
    rules: [
      {
        apiGroups: ["netmap.io"],
        resources: ["networktraces"],
        verbs: ["create", "get", "list", "watch", "delete"],
      },
      // Per-node progress: each probe's answer is in its segment.
      { apiGroups: ["netmap.io"], resources: ["networktracesegments"], verbs: ["list", "watch"] },
      { apiGroups: [""], resources: ["pods", "services", "nodes"], verbs: ["get", "list"] },
    ],
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "netmap-tracer-dev" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "netmap-tracer" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "dev" }],
  },
];

let kubeconfig: string | undefined;
async function userKubeconfig(): Promise<string> {
  if (!kubeconfig) {
    await apply(f.cp, USER_RBAC);
    kubeconfig = await f.cp.kubeconfigForUser("dev");
  }
  return kubeconfig;
}

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/** `kubectl-netmap --kubeconfig <dev's> -n netmap-lab <args>`, as a process. */
async function netmap(...args: string[]): Promise<Run> {
  const t0 = Date.now();
  const r = await execCommand(
    [process.execPath, BIN, "--kubeconfig", await userKubeconfig(), "-n", LAB_NAMESPACE, ...args],
    { timeoutMs: 90_000, env: { CI: "1" } },
  );
  return { code: r.code, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

/** The plugin's -o json against the offline trace: the same result, evidence compared as rules. */
function expectSame(run: Run, want: TraceResult): void {
  expect(comparable(JSON.parse(run.out) as TraceResult)).toEqual(comparable(want));
}

async function noTracesLeft(): Promise<void> {
  const left = await f.cp.kubectl(["get", "ntrace", "-n", LAB_NAMESPACE, "-o", "name"]);
  expect(left.trim()).toBe("");
}

describe("kubectl-netmap online over the kernel lab", () => {
  it("same node: the offline form's hops, verdict and text; exit 0; the trace deleted", async () => {
    const [a, b] = [f.pod("pod-1-1"), f.pod("pod-1-2")];
    const want = await offline({ protocol: "tcp", src: a.ip, dst: b.ip, sport: 40000, dport: 8080 });
    const json = await netmap(a.name, b.name, "--port", "8080", "-o", "json");
    expect(json.err).toBe("");
    expect(json.code).toBe(0);
    expectSame(json, want);
    const text = await netmap(a.name, b.name, "--port", "8080", "-o", "text");
    expect(text.code).toBe(0);
    expect(text.out).toBe(renderText(want, { width: 80, verbose: false }));
    await noTracesLeft();
    console.log(`[plugin] same node: ${text.ms} ms for the whole kubectl-netmap run`);
  });

  it("cross node over VXLAN, both directions, as the offline form", async () => {
    const [a, b] = [f.pod("pod-1-1"), f.pod("pod-2-1")];
    const want = await offline({ protocol: "tcp", src: a.ip, dst: b.ip, sport: 40000, dport: 8080 });
    const r = await netmap(`${LAB_NAMESPACE}/${a.name}`, `pod/${b.name}`, "--port", "8080", "-o", "json");
    expect(r.code, r.err).toBe(0);
    expectSame(r, want);
    const text = await netmap(a.name, b.name, "--port", "8080", "-o", "text");
    expect(text.out).toBe(renderText(want, { width: 80, verbose: false }));
    expect(text.out).toContain("reply: tcp");
    console.log(`[plugin] cross node: ${text.ms} ms for the whole kubectl-netmap run`);
  });

  it("pod → Service (its only port found by the plugin), the endpoint asked for, as the offline form", async () => {
    const a = f.pod("pod-1-2");
    const want = await offline(
      { protocol: "tcp", src: a.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
      1,
    );
    const r = await netmap(a.name, "svc/web", "--endpoint", "1", "-o", "json");
    expect(r.code, r.err).toBe(0);
    expectSame(r, want);
    const text = await netmap(a.name, "svc/web", "--endpoint", "1");
    expect(text.out).toBe(renderText(want, { width: 80, verbose: false }));
    console.log(`[plugin] kubectl netmap ${a.name} svc/web --endpoint 1 (${text.ms} ms):\n${text.out}`);
  });

  it("pod → Service without endpoints: Rejected, exit 4, as the offline form", async () => {
    const a = f.pod("pod-1-2");
    const want = await offline({
      protocol: "tcp",
      src: a.ip,
      dst: f.services.empty.clusterIP,
      sport: 40000,
      dport: SERVICE_PORT,
    });
    expect(want.verdict).toBe("Rejected");
    const r = await netmap(a.name, "svc/empty", "--port", String(SERVICE_PORT), "-o", "json");
    expect(r.code, r.err).toBe(4);
    expectSame(r, want);
    await noTracesLeft();
  });

  it("a reply that cannot come back (br_netfilter off, endpoint on the client's bridge): exit 3, stopped in the reply", async () => {
    const client = f.pod("pod-1-2");
    const node = f.lab.nodes[0];
    if (!node?.bridgeNfCallIptables) throw new Error("this kernel has no bridge-nf-call-iptables in a netns");
    await f.lab.setSysctl(node.netns, "net.bridge.bridge-nf-call-iptables", "0");
    try {
      await afterStateTtl();
      const want = await offline(
        { protocol: "tcp", src: client.ip, dst: f.services.web.clusterIP, sport: 40000, dport: SERVICE_PORT },
        0,
      );
      const r = await netmap(client.name, "svc/web", "--endpoint", "0", "-o", "json");
      expect(r.code, r.err).toBe(3);
      expectSame(r, want);
      const result = JSON.parse(r.out) as TraceResult;
      expect(result.stoppedIn).toBe("reply");
      expect(result.findings.map((x) => x.code)).toContain("BR_NETFILTER_OFF");
    } finally {
      await f.lab.setSysctl(node.netns, "net.bridge.bridge-nf-call-iptables", "1");
      await afterStateTtl();
    }
  });

  it("an injected fault (the destination's veth down) stops where the offline form stops", async () => {
    const [a, b] = [f.pod("pod-1-1"), f.pod("pod-2-1")];
    await f.lab.setLinkDown(b.nodeNetns, b.hostVeth);
    try {
      await afterStateTtl();
      const want = await offline({ protocol: "icmp", src: a.ip, dst: b.ip });
      const r = await netmap(a.name, b.name, "--protocol", "icmp", "-o", "json");
      expect(want.verdict).not.toBe("Delivered");
      expect(r.code, r.err).toBe(want.verdict === "Dropped" ? 3 : want.verdict === "Rejected" ? 4 : 5);
      expectSame(r, want);
    } finally {
      await f.lab.setLinkUp(b.nodeNetns, b.hostVeth);
      await afterStateTtl();
    }
  });

  it("a node whose probe does not answer: exit 2, naming the node", async () => {
    const [a, b] = [f.pod("pod-1-1"), f.pod("pod-3-1")];
    await f.probes.get(b.node)?.stop();
    try {
      const r = await netmap(a.name, b.name, "--port", "8080", "--timeout", "3s");
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        new RegExp(`^error: node ${b.node} did not answer step \\d+ \\(request\\) within the trace's 3s`),
      );
      expect(r.ms).toBeLessThan(15_000);
      await noTracesLeft();
    } finally {
      await f.restartProbe(b.node);
    }
  });

  it("from a node's own network namespace (node/NAME, where hostNetwork pods send from), as the offline form", async () => {
    const node = f.lab.nodes[1];
    const b = f.pod("pod-1-1");
    if (!node) throw new Error("no node 2");
    const want = await offline({ protocol: "icmp", src: node.underlayIp, dst: b.ip });
    const r = await netmap(`node/${node.name}`, b.name, "--protocol", "icmp", "-o", "json");
    expect(r.code, r.err).toBe(want.verdict === "Delivered" ? 0 : 3);
    expectSame(r, want);
  });

  it("a misspelt pod: the close names from the cluster, nothing created (exit 1)", async () => {
    const r = await netmap("pod-1-l", "pod-2-1", "--port", "8080");
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `error: source pod "pod-1-l" not found in namespace ${LAB_NAMESPACE}\nhint: did you mean pod-1-1, pod-1-2, pod-2-1?\n`,
    );
  });

  it("keeps a trace with --keep and shows it again with get", async () => {
    const [a, b] = [f.pod("pod-2-1"), f.pod("pod-3-1")];
    const r = await netmap(a.name, b.name, "--protocol", "icmp", "--keep", "-o", "text");
    expect(r.code).toBe(0);
    const name = /kept NetworkTrace netmap-lab\/(\S+): kubectl netmap get \1 -n netmap-lab/.exec(r.err)?.[1];
    expect(name).toMatch(/^pod-2-1-to-pod-3-1-\w{5}$/);
    const g = await netmap("get", name ?? "", "-o", "text");
    expect(g.code).toBe(0);
    expect(g.out).toBe(r.out);
    await f.cp.kubectl(["delete", "ntrace", name ?? "", "-n", LAB_NAMESPACE]);
  });
});

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const SOCKET = `netmap-online-${process.pid}`;

describe.skipIf(!hasTmux)("kubectl-netmap online in a terminal (tmux)", () => {
  const tmux = (...args: string[]): string =>
    execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
  const pane = () => tmux("capture-pane", "-p", "-t", "netmap");
  async function waitFor(what: string, check: (s: string) => boolean, ms = 30_000): Promise<string> {
    const until = Date.now() + ms;
    let screen = "";
    while (Date.now() < until) {
      screen = pane();
      if (check(screen)) return screen;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; the pane shows:\n${screen}`);
  }
  const start = async (args: string[]) => {
    const cmd = ["env", "-u", "CI", "-u", "CONTINUOUS_INTEGRATION", process.execPath, BIN]
      .concat(["--kubeconfig", await userKubeconfig(), "-n", LAB_NAMESPACE, ...args])
      .map((a) => `'${a}'`)
      .join(" ");
    tmux(
      "new-session",
      "-d",
      "-s",
      "netmap",
      "-x",
      "100",
      "-y",
      "40",
      "-e",
      "TERM=xterm-256color",
      `${cmd}; echo "EXIT=$?"; sleep 60`,
    );
  };
  afterAll(() => {
    spawnSync("tmux", ["-L", SOCKET, "kill-server"]);
  });

  it("shows the node it waits for while a probe is away, then the operator's verdict on it (exit 2)", async () => {
    const [a, b] = [f.pod("pod-1-1"), f.pod("pod-3-1")];
    await f.probes.get(b.node)?.stop();
    try {
      // Long enough for node-1's walk on a busy machine: node-3 must be the one that does not answer.
      await start([a.name, b.name, "--port", "8080", "--timeout", "10s"]);
      const waiting = await waitFor("the progress line", (s) =>
        s.includes(`${b.node}: step 1 (request): waiting for its probe`),
      );
      expect(waiting).toMatch(/done: node-1 request \d+ hops/);
      const end = await waitFor("the exit", (s) => s.includes("EXIT=2"));
      expect(end).toContain(`error: node ${b.node} did not answer step 1 (request)`);
      console.log(`[plugin] TUI progress while ${b.node}'s probe was away:\n${waiting.trimEnd()}`);
    } finally {
      tmux("kill-session", "-t", "netmap");
      await f.restartProbe(b.node);
    }
  });

  it("shows the finished trace in the TUI; q quits with the verdict's code", async () => {
    const a = f.pod("pod-1-2");
    await start([a.name, "svc/web", "--endpoint", "1"]);
    const screen = await waitFor("the verdict", (s) => /Delivered both ways at hop \d+/.test(s));
    expect(screen).toContain("netmap tcp 10.244.1.");
    expect(screen).toContain("q quit");
    tmux("send-keys", "-t", "netmap", "q");
    await waitFor("the exit", (s) => s.includes("EXIT=0"));
    tmux("kill-session", "-t", "netmap");
    await noTracesLeft();
  });
});

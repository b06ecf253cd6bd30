/**
 * The real binary in a real terminal: tmux runs `kubectl-netmap trace --snapshots …` on the
 * committed kernel-lab snapshots (so the real engine produces the trace), we send j/k/Enter/c/q
 * and read the pane back.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const PLUGIN = fileURLToPath(new URL("../..", import.meta.url));
const SNAP = join(PLUGIN, "src/testdata/snapshots/lab-vxlan");
const SOCKET = `netmap-test-${process.pid}`;
const SESSION = "netmap";
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

const tmux = (...args: string[]): string =>
  execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const pane = (): string => tmux("capture-pane", "-p", "-t", SESSION);
const send = (...keys: string[]): void => {
  tmux("send-keys", "-t", SESSION, ...keys);
};

async function waitFor(what: string, check: (screen: string) => boolean, ms = 10_000): Promise<string> {
  const until = Date.now() + ms;
  let screen = "";
  while (Date.now() < until) {
    screen = pane();
    if (check(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; the pane shows:\n${screen}`);
}

const selected = (screen: string) => screen.split("\n").find((l) => l.startsWith("▸")) ?? "";

describe.skipIf(!hasTmux)("kubectl netmap TUI in tmux", () => {
  afterAll(() => {
    spawnSync("tmux", ["-L", SOCKET, "kill-server"]);
  });

  it("navigates, expands, queues a command and quits on a real cross-node trace", async () => {
    // A person's terminal, not a CI job: with CI set the plugin (and Ink) would stay headless.
    const cmd = [
      "env",
      "-u",
      "CI",
      "-u",
      "CONTINUOUS_INTEGRATION",
      process.execPath,
      join(PLUGIN, "bin/kubectl-netmap.js"),
      "trace",
      "--snapshots",
      SNAP,
      "pod-1-1",
      "pod-2-1",
      "--protocol",
      "icmp",
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    tmux(
      "new-session",
      "-d",
      "-s",
      SESSION,
      "-x",
      "80",
      "-y",
      "40",
      "-e",
      "TERM=xterm-256color",
      `${cmd}; echo "EXIT=$?"; sleep 60`,
    );
    let screen = await waitFor("the verdict", (s) => /Delivered (both ways )?at hop/.test(s));
    expect(screen).toContain("netmap icmp 10.244.1.");
    expect(screen).toMatch(/node-1\n/);
    expect(screen).toContain("⇣ vxlan flannel.1 VNI 1");
    expect(screen).toContain("q quit");
    for (const line of screen.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
    const last = Number(/^▸ +(\d+) /.exec(selected(screen))?.[1]);
    expect(last).toBeGreaterThan(10);

    send("k");
    screen = await waitFor("k to move up", (s) =>
      selected(s).startsWith(`▸ ${String(last - 1).padStart(3)} `),
    );
    // Three keys in one write reach the plugin in one read (a held key, a paste): all three count.
    send("-l", "kkk");
    screen = await waitFor("kkk to move up three hops", (s) =>
      selected(s).startsWith(`▸ ${String(last - 4).padStart(3)} `),
    );
    send("g");
    await waitFor("g to go to the first hop", (s) => /^▸ +0 /.test(selected(s)));
    send("j");
    screen = await waitFor("j to move down", (s) => /^▸ +1 /.test(selected(s)));
    expect(selected(screen)).toContain("veth");

    send("Enter");
    screen = await waitFor("the expanded hop", (s) => s.includes("$ ip -n "));
    expect(screen).toMatch(/from ip -j -d link show/);
    expect(screen).toMatch(/│ \d+: eth0@if\d+/);

    send("c");
    screen = await waitFor("the copy status", (s) => s.includes("will print on exit: ip -n "));

    send("q");
    screen = await waitFor("exit", (s) => s.includes("EXIT=0"));
    expect(screen).toMatch(/^ip -n nm-\S+ -d link show eth0$/m);
  });
});

/**
 * Lab names, and tearing a lab down: every netns named `nm-<name>-…` and the lab's tmp dir. The
 * name has no dashes, so the `nm-<name>-` prefix can never match another lab's namespaces.
 * Cleanup also runs on process exit, SIGINT and SIGTERM while a lab is alive.
 */
import type { ChildProcess } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabError, run, runSync } from "./exec.js";

const NETNS_DIR = "/var/run/netns";

/** Throws unless `name` is a valid lab name: 1–12 lowercase letters/digits. */
export function checkLabName(name: string): void {
  if (!/^[a-z0-9]{1,12}$/.test(name)) {
    throw new LabError(`invalid lab name "${name}": use 1–12 lowercase letters or digits (no dashes)`);
  }
}

/** Prefix of every netns of lab `name`. */
export function labPrefix(name: string): string {
  return `nm-${name}-`;
}

/** The lab's scratch directory (CNI conflists, host-local IPAM state). */
export function labTmpDir(name: string): string {
  return join(tmpdir(), `netmap-lab-${name}`);
}

/** Names of the netns that belong to lab `name`. */
export async function labNetns(name: string): Promise<string[]> {
  checkLabName(name);
  const all = await readdir(NETNS_DIR).catch(() => [] as string[]);
  return all.filter((n) => n.startsWith(labPrefix(name))).sort();
}

const children = new Map<string, Set<ChildProcess>>();

/** Remembers a helper process (e.g. a TCP server) so a teardown kills it. */
export function trackChild(name: string, child: ChildProcess): void {
  const set = children.get(name) ?? new Set<ChildProcess>();
  set.add(child);
  children.set(name, set);
  child.once("exit", () => set.delete(child));
}

function killChildren(name: string): void {
  for (const c of children.get(name) ?? []) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
  children.delete(name);
}

/**
 * Deletes every netns `nm-<name>-…` and the lab's tmp dir. Idempotent; throws if a netns survives.
 */
export async function destroyLab(name: string): Promise<void> {
  checkLabName(name);
  killChildren(name);
  for (const ns of await labNetns(name)) {
    await run(["ip", "netns", "del", ns], { timeoutMs: 10_000 });
  }
  await rm(labTmpDir(name), { recursive: true, force: true });
  const left = await labNetns(name);
  if (left.length > 0) {
    throw new LabError(`lab ${name}: could not delete netns ${left.join(", ")}; try \`ip netns del <name>\``);
  }
  active.delete(name);
}

/** Synchronous teardown for exit/signal handlers. */
export function destroyLabSync(name: string): void {
  killChildren(name);
  let all: string[] = [];
  try {
    all = readdirSync(NETNS_DIR);
  } catch {
    // no netns dir: nothing to delete
  }
  for (const ns of all.filter((n) => n.startsWith(labPrefix(name)))) runSync(["ip", "netns", "del", ns]);
  rmSync(labTmpDir(name), { recursive: true, force: true });
  active.delete(name);
}

const active = new Set<string>();
let handlersInstalled = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const name of [...active]) destroyLabSync(name);
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  process.kill(process.pid, signal);
}

/** Marks a lab alive: it is destroyed on exit, SIGINT or SIGTERM unless destroyed before. */
export function registerForCleanup(name: string): void {
  active.add(name);
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    for (const n of [...active]) destroyLabSync(n);
  });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

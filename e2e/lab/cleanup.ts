/**
 * Lab names, and tearing a lab down: every netns named `nm-<name>-…` and the lab's tmp dir. The
 * name has no dashes, so the `nm-<name>-` prefix can never match another lab's namespaces.
 * Cleanup also runs on process exit, SIGINT and SIGTERM while a lab is alive.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

const LOCK_DIR = "/run/netmap-lab";
/** How long createLab waits for another process's lab of the same name before it gives up. */
const LOCK_WAIT_MS = 15 * 60_000;

function lockPath(name: string): string {
  return join(LOCK_DIR, `${name}.lock`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock once; false while a live process holds it (a dead holder's lock is taken over). */
function tryLock(name: string): boolean {
  mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 });
  const dir = lockPath(name);
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(join(dir, "pid"), "utf8"));
    } catch {
      // a holder between mkdir and writing its pid: wait for it
      return false;
    }
    if (holder === process.pid || !Number.isInteger(holder) || pidAlive(holder))
      return holder === process.pid;
    rmSync(dir, { recursive: true, force: true });
    return tryLock(name);
  }
  writeFileSync(join(dir, "pid"), String(process.pid));
  return true;
}

/**
 * Lab `name` belongs to this process until destroyed: two test runs on one machine (two shells, a
 * CI job beside a developer) would otherwise tear down each other's lab of the same name. Waits
 * (bounded) while another live process holds it.
 */
export async function lockLab(name: string): Promise<void> {
  checkLabName(name);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let said = false;
  while (!tryLock(name)) {
    if (Date.now() > deadline) {
      throw new LabError(
        `lab ${name} is held by another process (${lockPath(name)}/pid) for over ${LOCK_WAIT_MS / 60_000} min; stop it or remove the lock if that process is gone`,
      );
    }
    if (!said) {
      console.error(`[lab] waiting for lab ${name}: another process holds ${lockPath(name)}`);
      said = true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function unlockLab(name: string): void {
  const dir = lockPath(name);
  try {
    if (Number(readFileSync(join(dir, "pid"), "utf8")) === process.pid)
      rmSync(dir, { recursive: true, force: true });
  } catch {
    // not held
  }
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
  unlockLab(name);
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
  unlockLab(name);
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

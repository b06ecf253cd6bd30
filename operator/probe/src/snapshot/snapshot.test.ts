import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeCapture } from "@netmap/core";
import { SNAPSHOT_FORMAT_VERSION } from "@netmap/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SnapshotError } from "./errors.js";
import { readSnapshotDir } from "./read.js";
import { writeSnapshot } from "./write.js";

function capture(node: string): NodeCapture {
  const host = {
    manifest: {
      netns: "host",
      dir: "host",
      path: `/var/run/netns/${node}`,
      sources: {
        "ip-link": { argv: ["ip", "-j", "-d", "link", "show"], status: "ok" as const, exitCode: 0 },
        "iptables-save": { argv: ["iptables-save", "-c"], status: "ok" as const, exitCode: 0 },
        ipvsadm: {
          argv: ["ipvsadm", "-S", "-n"],
          status: "absent" as const,
          exitCode: 127,
          stderr: "nsenter: failed to execute ipvsadm: No such file or directory",
        },
      },
    },
    outputs: { "ip-link": '[{"ifindex":1,"ifname":"lo"}]\n', "iptables-save": "" },
  };
  const pod = {
    manifest: {
      netns: `${node}-p1`,
      dir: `netns/${node}-p1`,
      path: `/var/run/netns/${node}-p1`,
      ips: ["10.244.1.2"],
      pod: { namespace: "default", name: "a" },
      sources: { "ip-addr": { argv: ["ip", "-j", "addr", "show"], status: "ok" as const, exitCode: 0 } },
    },
    outputs: { "ip-addr": "[]\n" },
  };
  return {
    manifest: {
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      node,
      capturedAt: "2026-01-01T00:00:00.000Z",
      netmapVersion: "0.1.0",
      tools: { ip: "ip utility, iproute2-6.1.0" },
      netns: [host.manifest, pod.manifest],
    },
    netns: [host, pod],
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "netmap-snap-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectSnapshotError(p: Promise<unknown>, message: RegExp, hint: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SnapshotError);
  const se = err as SnapshotError;
  expect(se.message).toMatch(message);
  expect(se.hint).toMatch(hint);
}

describe("writeSnapshot / readSnapshotDir", () => {
  it("round-trips several nodes in one directory, host first, absent sources kept", async () => {
    const a = capture("node-a");
    const b = capture("node-b");
    expect(await writeSnapshot(dir, b)).toBe(join(dir, "node-b"));
    await writeSnapshot(dir, a);
    const read = await readSnapshotDir(dir);
    expect(read.map((n) => n.manifest.node)).toEqual(["node-a", "node-b"]);
    const ra = read[0];
    expect(ra?.netns.map((n) => n.manifest.netns)).toEqual(["host", "node-a-p1"]);
    expect(ra?.netns[0]?.outputs).toEqual(a.netns[0]?.outputs);
    expect(ra?.netns[1]?.outputs).toEqual(a.netns[1]?.outputs);
    expect(ra?.netns[1]?.manifest.ips).toEqual(["10.244.1.2"]);
    expect(ra?.netns[1]?.manifest.pod).toEqual({ namespace: "default", name: "a" });
    expect(ra?.netns[0]?.manifest.sources.ipvsadm?.status).toBe("absent");
    expect(ra?.netns[0]?.outputs.ipvsadm).toBeUndefined();
    expect(ra?.netns[0]?.manifest.sources["iptables-save"]?.bytes).toBe(0);
    expect(await readFile(join(dir, "node-a", "netns", "node-a-p1", "ip-addr.json"), "utf8")).toBe("[]\n");
  });

  it("accepts a directory that is itself one node's snapshot", async () => {
    await writeSnapshot(dir, capture("node-a"));
    const read = await readSnapshotDir(join(dir, "node-a"));
    expect(read).toHaveLength(1);
    expect(read[0]?.manifest.node).toBe("node-a");
  });

  it("replaces the same node's snapshot atomically, leaving no temp dirs", async () => {
    await writeSnapshot(dir, capture("node-a"));
    const second = capture("node-a");
    const host = second.netns[0];
    if (!host) throw new Error("fixture has a host netns");
    host.outputs = { ...host.outputs, "ip-link": "[]\n" };
    await writeSnapshot(dir, second);
    const read = await readSnapshotDir(dir);
    expect(read[0]?.netns[0]?.outputs["ip-link"]).toBe("[]\n");
    const { readdir } = await import("node:fs/promises");
    expect((await readdir(dir)).sort()).toEqual(["node-a"]);
  });

  it("refuses to write over a directory that is not this node's snapshot", async () => {
    await mkdir(join(dir, "node-a"));
    await writeFile(join(dir, "node-a", "notes.txt"), "mine");
    await expectSnapshotError(
      writeSnapshot(dir, capture("node-a")),
      /not a netmap node snapshot/,
      /another -o/,
    );
  });

  it("refuses to write into a node directory", async () => {
    await writeSnapshot(dir, capture("node-a"));
    await expectSnapshotError(
      writeSnapshot(join(dir, "node-a"), capture("node-b")),
      /itself one node's snapshot/,
      /parent directory/,
    );
  });
});

describe("readSnapshotDir errors", () => {
  it("missing directory", async () => {
    await expectSnapshotError(
      readSnapshotDir(join(dir, "nope")),
      /does not exist/,
      /kubectl netmap snapshot/,
    );
  });

  it("directory without any */manifest.json", async () => {
    await mkdir(join(dir, "junk"));
    await expectSnapshotError(readSnapshotDir(dir), /no node snapshot/, /kubectl netmap snapshot/);
  });

  it("format version mismatch names found and supported versions", async () => {
    await writeSnapshot(dir, capture("node-a"));
    const file = join(dir, "node-a", "manifest.json");
    const m = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...m, formatVersion: 99 }));
    await expectSnapshotError(
      readSnapshotDir(dir),
      new RegExp(`version 99 found; this netmap reads version ${SNAPSHOT_FORMAT_VERSION}`),
      /re-capture/,
    );
  });

  it("a file listed as ok but missing names node and file", async () => {
    await writeSnapshot(dir, capture("node-a"));
    await rm(join(dir, "node-a", "netns", "node-a-p1", "ip-addr.json"));
    await expectSnapshotError(
      readSnapshotDir(dir),
      /node node-a: netns\/node-a-p1\/ip-addr\.json is missing/,
      /re-capture node node-a/,
    );
  });

  it("a file listed as ok but emptied names node and file", async () => {
    await writeSnapshot(dir, capture("node-a"));
    await writeFile(join(dir, "node-a", "host", "ip-link.json"), "");
    await expectSnapshotError(
      readSnapshotDir(dir),
      /node node-a: host\/ip-link\.json is empty/,
      /re-capture/,
    );
  });

  it("a truly empty output (bytes 0) is not an error", async () => {
    await writeSnapshot(dir, capture("node-a"));
    const read = await readSnapshotDir(dir);
    expect(read[0]?.netns[0]?.outputs["iptables-save"]).toBe("");
  });

  it("a manifest that is not JSON", async () => {
    await mkdir(join(dir, "node-x"));
    await writeFile(join(dir, "node-x", "manifest.json"), "{nope");
    await expectSnapshotError(readSnapshotDir(dir), /not valid JSON/, /re-capture/);
  });
});

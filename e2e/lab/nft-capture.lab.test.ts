/**
 * The snapshot collector reads only the nft tables netmap evaluates: on a node whose iptables rules
 * live in iptables-nft's tables (ip nat/filter) next to a native nft table, the capture's
 * nft-ruleset holds the native table only, and the manifest records the commands that built it.
 */
import { assembleNodeState, parseNftJson } from "@netmap/core";
import { collectNode } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, type Lab } from "./lab.js";

describe("snapshot capture of nft tables next to iptables-nft's", () => {
  let lab: Lab;
  let netns: string;
  beforeAll(async () => {
    lab = await createLab({ name: "nftxcap", nodes: 1, podsPerNode: 1, overlay: "vxlan" });
    netns = lab.nodes[0]?.netns as string;
    // iptables-nft's tables: a user chain, a match only xt can express, and a built-in chain jump.
    await lab.iptables(netns, ["-t", "nat", "-N", "NM-TEST"]);
    await lab.iptables(netns, [
      "-t",
      "nat",
      "-A",
      "NM-TEST",
      "-m",
      "comment",
      "--comment",
      "nm",
      "-j",
      "RETURN",
    ]);
    await lab.iptables(netns, ["-t", "nat", "-A", "PREROUTING", "-j", "NM-TEST"]);
    await lab.iptables(netns, ["-t", "filter", "-A", "FORWARD", "-s", "10.99.0.0/16", "-j", "ACCEPT"]);
    // A native nft table with a base chain, a map and a rule.
    const script = [
      "table inet nmtest {",
      "  map ports { type inet_service : verdict; elements = { 80 : accept } }",
      "  chain pre { type filter hook prerouting priority -5; policy accept; tcp dport vmap @ports; }",
      "}",
    ].join("\n");
    const r = await lab.exec(netns, ["nft", "-f", "-"], { input: script });
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it("keeps the native nft table and leaves out iptables-nft's tables", async () => {
    const whole = await lab.exec(netns, ["nft", "-j", "list", "ruleset"]);
    const wholeTables = parseNftJson(whole.stdout).tables.map((t) => `${t.family} ${t.name}`);
    expect(wholeTables).toEqual(expect.arrayContaining(["ip nat", "ip filter", "inet nmtest"]));

    const cap = await collectNode({ node: "node-1", hostNetns: `/var/run/netns/${netns}` });
    const host = cap.netns[0];
    const json = host?.outputs["nft-ruleset"] ?? "";
    const ruleset = parseNftJson(json);
    expect(ruleset.version).toMatch(/^\d+\.\d+/);
    expect(ruleset.tables.map((t) => `${t.family} ${t.name}`)).toEqual(["inet nmtest"]);
    const table = ruleset.tables[0];
    expect(table?.chains.get("pre")?.rules[0]?.text).toBe("tcp dport vmap @ports");
    expect(table?.sets.get("ports")?.elements).toHaveLength(1);

    const record = host?.manifest.sources["nft-ruleset"];
    expect(record?.status).toBe("ok");
    expect(record?.argv).toEqual(["nft", "-j", "list", "ruleset"]);
    expect(record?.commands).toEqual([
      ["nft", "-j", "list", "chains"],
      ["nft", "-j", "list", "table", "inet", "nmtest"],
    ]);
    expect(record?.bytes).toBe(Buffer.byteLength(json));
    // The iptables rules are still there, from iptables-save.
    expect(host?.outputs["iptables-save"]).toContain("-A NM-TEST -m comment --comment nm -j RETURN");
    const state = assembleNodeState(cap);
    expect(state.host.netfilter.nftables?.tables.map((t) => t.name)).toEqual(["nmtest"]);
  }, 60_000);
});

/**
 * The nf_tables netlink decoder against nft itself, live: rulesets are loaded into a throwaway netns
 * (nmx-nlcap-lab-<pid>), every chain's rules and every set are read from the kernel over netlink
 * (the probe's NftNetlinkSession: socat on an AF_NETLINK socket inside the netns, requests from
 * encodeNftQuery) and decoded, and each must equal what parseNftJson builds from `nft -j list table`
 * of the same state. No traffic.
 */
import { readFileSync } from "node:fs";
import {
  anonymousSetsOf,
  decodeNftRules,
  decodeNftSet,
  decodeNftTable,
  type NetlinkMessage,
  type NftFamily,
  type NftNetlinkQuery,
  type NftSet,
  parseNftJson,
} from "@netmap/core";
import { NftNetlinkSession } from "@netmap/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nftRuleset, type Service } from "../kube-proxy/index.js";
import { inNetns, run, runOk } from "./exec.js";

const NS = `nmx-nlcap-lab-${process.pid}`;
const TESTDATA = new URL("../../operator/core/src/parsers/nftables/testdata/", import.meta.url);

const ep = (ip: string) => ({ ip, node: "node-1", ready: true });
const tcp = (port: number, extra: { nodePort?: number } = {}) => [
  { name: `p${port}`, protocol: "TCP" as const, port, targetPort: 8080, ...extra },
];
/** Services shaped like the lab's (e2e/lab/services.ts), plus UDP and a multi-port one. */
const SERVICES: Service[] = [
  {
    namespace: "lab",
    name: "web",
    clusterIP: "10.96.0.10",
    ports: tcp(80),
    endpoints: [1, 2, 3].map((i) => ep(`10.244.${i}.2`)),
  },
  {
    namespace: "lab",
    name: "web-nodeport",
    clusterIP: "10.96.0.11",
    ports: tcp(80, { nodePort: 30080 }),
    endpoints: [ep("10.244.1.2"), ep("10.244.2.2")],
  },
  { namespace: "lab", name: "empty", clusterIP: "10.96.0.12", ports: tcp(80), endpoints: [] },
  {
    namespace: "lab",
    name: "sticky",
    clusterIP: "10.96.0.13",
    ports: tcp(80),
    endpoints: [ep("10.244.1.2"), ep("10.244.3.2")],
    sessionAffinity: { timeoutSeconds: 10800 },
  },
  {
    namespace: "kube-system",
    name: "kube-dns",
    clusterIP: "10.96.0.53",
    ports: [
      { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
      { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
    ],
    endpoints: [ep("10.244.1.3")],
  },
];

let session: NftNetlinkSession;

/** One netlink request over the session; the reply's messages (an errno is an error here). */
async function ask(q: NftNetlinkQuery): Promise<NetlinkMessage[]> {
  const r = await session.query(q);
  if (r.errno !== undefined) throw new Error(`errno ${r.errno} for ${JSON.stringify(q)}`);
  return r.messages;
}

async function decodeSet(family: NftFamily, table: string, name: string): Promise<NftSet> {
  const [set] = await ask({ kind: "set", family, table, set: name });
  if (!set) throw new Error(`no set ${name}`);
  return decodeNftSet(set, await ask({ kind: "elements", family, table, set: name }));
}

/** Every chain and named set of the netns, decoded over netlink and as nft lists them. */
async function compareAll(): Promise<{ chains: number; sets: number }> {
  const listing = parseNftJson(await runOk(inNetns(NS, ["nft", "-j", "list", "ruleset"])), {
    decodeAllBelow: 0,
  });
  let chains = 0;
  let sets = 0;
  for (const t of listing.tables) {
    const [header] = await ask({ kind: "table", family: t.family, table: t.name });
    expect(header && decodeNftTable(header)).toEqual({ family: t.family, name: t.name, handle: t.handle });
    for (const [name, expected] of t.sets) {
      expect(await decodeSet(t.family, t.name, name), `set ${name}`).toEqual(expected);
      sets++;
    }
    for (const name of t.chains.keys()) {
      const messages = await ask({ kind: "rules", family: t.family, table: t.name, chain: name });
      const anon = new Map<string, NftSet>();
      for (const n of anonymousSetsOf(messages)) anon.set(n, await decodeSet(t.family, t.name, n));
      const rules = decodeNftRules(messages, (n) => anon.get(n));
      expect(rules, `chain ${name}`).toEqual(t.chains.get(name)?.rules);
      chains++;
    }
  }
  return { chains, sets };
}

describe("nf_tables netlink decoder against nft -j on the same kernel state", () => {
  beforeAll(async () => {
    await runOk(["ip", "netns", "add", NS]);
    session = await NftNetlinkSession.open(NS);
  });
  afterAll(async () => {
    session?.close();
    await run(["ip", "netns", "del", NS]);
  });

  it("decodes kube-proxy's generated ruleset for the lab's Services exactly", async () => {
    try {
      const ruleset = nftRuleset(SERVICES, {
        clusterCIDR: "10.244.0.0/16",
        serviceCIDR: "10.96.0.0/16",
        nodePortIPs: ["192.168.56.11"],
      });
      await runOk(inNetns(NS, ["nft", "-f", "-"]), { input: ruleset });
      const n = await compareAll();
      expect(n.chains).toBeGreaterThan(15);
      expect(n.sets).toBeGreaterThan(3);
    } finally {
      await run(inNetns(NS, ["nft", "flush", "ruleset"]));
    }
  }, 120_000);

  it("decodes the golden kube-proxy ruleset and flannel's table exactly", async () => {
    try {
      for (const file of ["golden-kube-proxy.nft.txt", "flannel-ipv4.nft.txt"]) {
        await runOk(inNetns(NS, ["nft", "-f", "-"]), {
          input: readFileSync(new URL(file, TESTDATA), "utf8"),
        });
      }
      const n = await compareAll();
      expect(n.chains).toBe(34);
    } finally {
      await run(inNetns(NS, ["nft", "flush", "ruleset"]));
    }
  }, 120_000);

  it("answers ENOENT for a missing set and an empty dump for a missing chain", async () => {
    const reply = async (q: NftNetlinkQuery) => {
      const r = await session.query(q);
      return [r.errno, r.messages.length];
    };
    expect(await reply({ kind: "set", family: "ip", table: "no-such-table", set: "x" })).toEqual([2, 0]);
    expect(await reply({ kind: "table", family: "ip", table: "no-such-table" })).toEqual([2, 0]);
    expect(await reply({ kind: "rules", family: "ip", table: "no-such-table", chain: "x" })).toEqual([
      undefined,
      0,
    ]);
  });
});

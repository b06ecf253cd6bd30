/**
 * The kube-proxy generators against kube-proxy's own golden output: for the Services of
 * TestOverallIPTablesRules / TestOverallNFTablesRules that the model can express (ClusterIP,
 * NodePort with externalTrafficPolicy=Cluster, ClientIP affinity, no endpoints), every generated
 * line is kube-proxy's line, in kube-proxy's order. Pure: runs without root, in the unit project.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { base32, iptablesChains, nftChains } from "./hash.js";
import { iptablesBaseJumps, iptablesRestore, probability } from "./iptables.js";
import type { Service } from "./model.js";
import { nftRuleset } from "./nftables.js";

const testdata = (p: string) =>
  readFileSync(fileURLToPath(new URL(`../../operator/core/src/parsers/${p}`, import.meta.url)), "utf8");
const goldenIpt = testdata("iptables/testdata/k8s-golden-overall-iptables-rules-nfacct.txt");
const goldenNft = testdata("nftables/testdata/k8s-golden-overall-nftables-transaction.txt");
const kubeadmSave = testdata("iptables/testdata/kubeadm-v1.29-flannel-minik8s-iptables-save-full.txt");

const p80 = (extra: { nodePort?: number } = {}) => [
  { name: "p80", protocol: "TCP" as const, port: 80, targetPort: 80, ...extra },
];
const ep = (ip: string) => ({ ip, node: "node-1", ready: true });

/** The golden tests' svc1, svc3, svc4, svc5 and svc6, minus what the model has no field for (LB/external IPs). */
const GOLDEN_SERVICES: Service[] = [
  { namespace: "ns1", name: "svc1", clusterIP: "172.30.0.41", ports: p80(), endpoints: [ep("10.180.0.1")] },
  {
    namespace: "ns3",
    name: "svc3",
    clusterIP: "172.30.0.43",
    ports: p80({ nodePort: 3003 }),
    endpoints: [ep("10.180.0.3")],
  },
  {
    namespace: "ns4",
    name: "svc4",
    clusterIP: "172.30.0.44",
    ports: p80(),
    endpoints: [ep("10.180.0.4"), ep("10.180.0.5")],
  },
  {
    namespace: "ns5",
    name: "svc5",
    clusterIP: "172.30.0.45",
    ports: p80({ nodePort: 3002 }),
    endpoints: [ep("10.180.0.3")],
    sessionAffinity: { timeoutSeconds: 10800 },
  },
  { namespace: "ns6", name: "svc6", clusterIP: "172.30.0.46", ports: p80(), endpoints: [] },
];

type Chains = Map<string, string[]>;

/** "-A CHAIN …" lines and ":CHAIN" declarations per table. */
function iptablesTables(text: string): Map<string, { decl: string[]; rules: Chains }> {
  const tables = new Map<string, { decl: string[]; rules: Chains }>();
  let cur: { decl: string[]; rules: Chains } | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      cur = { decl: [], rules: new Map() };
      tables.set(line.slice(1), cur);
    } else if (line.startsWith(":") && cur) cur.decl.push(line.slice(1).split(" ")[0] as string);
    else if (line.startsWith("-A ") && cur) {
      const chain = line.split(" ")[1] as string;
      cur.rules.set(chain, [...(cur.rules.get(chain) ?? []), line]);
    }
  }
  return tables;
}

function isSubsequence(sub: readonly string[], of: readonly string[]): boolean {
  let i = 0;
  for (const x of of) if (x === sub[i]) i++;
  return i === sub.length;
}

describe("kube-proxy chain names", () => {
  it("base32 is RFC 4648 with padding, as Go's base32.StdEncoding", () => {
    expect(base32(new TextEncoder().encode("foobar"))).toBe("MZXW6YTBOI======");
    expect(base32(new TextEncoder().encode("f"))).toBe("MY======");
  });

  it("iptables: KUBE-SVC/KUBE-EXT/KUBE-SEP names are kube-proxy's for the golden Services", () => {
    expect(iptablesChains.svc("ns1/svc1:p80", "tcp")).toBe("KUBE-SVC-XPGD46QRK7WJZT7O");
    expect(iptablesChains.ext("ns2/svc2:p80", "tcp")).toBe("KUBE-EXT-GNZBNJ2PO5MGZ6GT");
    expect(iptablesChains.sep("ns1/svc1:p80", "tcp", "10.180.0.1:80")).toBe("KUBE-SEP-SXIVWICOYRO3J4NJ");
    expect(iptablesChains.sep("ns4/svc4:p80", "tcp", "10.180.0.5:80")).toBe("KUBE-SEP-C6EBXVWJJZMIWKLZ");
  });

  it("iptables: the well-known default/kubernetes:https chain of every real cluster", () => {
    // kubeadm v1.29 save: -A KUBE-SERVICES … default/kubernetes:https cluster IP … -j KUBE-SVC-NPX46M4PTMTKRN6Y
    expect(kubeadmSave).toContain("KUBE-SVC-NPX46M4PTMTKRN6Y");
    expect(iptablesChains.svc("default/kubernetes:https", "tcp")).toBe("KUBE-SVC-NPX46M4PTMTKRN6Y");
  });

  it("nftables: service/endpoint chain bases are hashAndTruncate of ns/name/proto/port[__ip/port]", () => {
    expect(nftChains.serviceBase("ns1", "svc1", "tcp", "p80")).toBe("ULMVA6XW-ns1/svc1/tcp/p80");
    expect(nftChains.endpointBase("ns5", "svc5", "tcp", "p80", "10.180.0.3:80")).toBe(
      "GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80",
    );
    const long = nftChains.serviceBase("n".repeat(63), "s".repeat(63), "tcp", "p".repeat(120));
    expect(long).toHaveLength(240);
    expect(long.endsWith("...")).toBe(true);
  });
});

describe("iptables mode against kube-proxy's golden restore input", () => {
  const mine = iptablesTables(
    iptablesRestore(GOLDEN_SERVICES, { clusterCIDR: "10.0.0.0/8", nfacct: true, randomFully: false }),
  );
  const golden = iptablesTables(goldenIpt);

  it("per-Service chains (KUBE-SVC, KUBE-SEP, KUBE-EXT) are line for line kube-proxy's", () => {
    const nat = mine.get("nat");
    const perService = [...(nat?.rules.keys() ?? [])].filter((c) => /^KUBE-(SVC|SEP|EXT)-/.test(c));
    expect(perService).toHaveLength(4 + 5 + 2);
    for (const chain of perService) {
      expect(nat?.rules.get(chain), chain).toEqual(golden.get("nat")?.rules.get(chain));
    }
  });

  it("shared chains hold exactly kube-proxy's lines for these Services, in kube-proxy's order", () => {
    for (const table of ["filter", "nat"]) {
      const m = mine.get(table);
      const g = golden.get(table);
      expect(m && g).toBeTruthy();
      expect(m?.rules.size, `${table}: the generated chains`).toBeGreaterThan(0);
      expect(m?.decl.length, `${table}: the generated declarations`).toBeGreaterThan(0);
      for (const [chain, lines] of m?.rules ?? []) {
        expect(isSubsequence(lines, g?.rules.get(chain) ?? []), `${table}/${chain}`).toBe(true);
      }
      expect(isSubsequence(m?.decl ?? [], g?.decl ?? []), `${table} chain declarations`).toBe(true);
    }
    // What the golden's other Services (LB, external IPs, eTP=Local) add is all that differs.
    expect(mine.get("filter")?.rules.get("KUBE-SERVICES")).toEqual(
      golden.get("filter")?.rules.get("KUBE-SERVICES"),
    );
    for (const c of ["KUBE-MARK-MASQ", "KUBE-POSTROUTING"]) {
      expect(mine.get("nat")?.rules.get(c), c).toEqual(golden.get("nat")?.rules.get(c));
    }
    expect(mine.get("filter")?.rules.get("KUBE-FORWARD")).toEqual(
      golden.get("filter")?.rules.get("KUBE-FORWARD"),
    );
  });

  it("without nfacct and with --random-fully: the rules of a real kubeadm v1.29 node", () => {
    const plain = iptablesRestore(GOLDEN_SERVICES, { clusterCIDR: "10.0.0.0/8" });
    expect(plain).not.toContain("nfacct");
    for (const line of [
      "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]) {
      expect(plain).toContain(line);
      expect(kubeadmSave).toContain(line);
    }
  });

  it("the endpoint cascade uses kube-proxy's %0.10f of 1/(n−i): 1/3, 1/2, then no statistic match", () => {
    expect([3, 2].map((k) => probability(1 / k))).toEqual(["0.3333333333", "0.5000000000"]);
    const three: Service = {
      ...(GOLDEN_SERVICES[2] as Service),
      endpoints: [ep("10.180.0.4"), ep("10.180.0.5"), ep("10.180.0.6")],
    };
    const svc = iptablesTables(iptablesRestore([three], { clusterCIDR: "10.0.0.0/8" }))
      .get("nat")
      ?.rules.get(iptablesChains.svc("ns4/svc4:p80", "tcp"));
    expect(svc?.map((l) => /--probability (\S+)/.exec(l)?.[1] ?? null)).toEqual([
      null,
      "0.3333333333",
      "0.5000000000",
      null,
    ]);
  });

  it("the base-chain jumps are the ones a real kubeadm v1.29 save lists, in its order", () => {
    const jumps = iptablesBaseJumps({})
      .split("\n")
      .filter((l) => /^-[IA] /.test(l))
      .map((l) => l.replace(/^-I (\S+) \d+ /, "-A $1 "));
    const saved = kubeadmSave.split("\n");
    for (const j of jumps) expect(saved, j).toContain(j);
    expect(
      isSubsequence(
        jumps.filter((l) => l.startsWith("-A INPUT")),
        saved,
      ),
    ).toBe(true);
    expect(
      isSubsequence(
        jumps.filter((l) => l.startsWith("-A FORWARD")),
        saved,
      ),
    ).toBe(true);
  });
});

describe("nftables mode against kube-proxy's golden transaction", () => {
  const mine = nftRuleset(GOLDEN_SERVICES, {
    clusterCIDR: "10.0.0.0/8",
    serviceCIDR: "172.30.0.0/16",
    nodePortIPs: ["192.168.0.2"],
  })
    .split("\n")
    .filter((l) => l.trim() !== "");
  const golden = goldenNft.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));

  it("every generated line is a line of kube-proxy's transaction", () => {
    const set = new Set(golden);
    expect(mine.filter((l) => !set.has(l))).toEqual([]);
  });

  it("every golden line of the modelled Services (and the fixed part) is generated", () => {
    // svc4's external- chain exists for its external IP only.
    const notModelled =
      /firewall-HVFWP5L3|external-LAUZTJTB|5\.6\.7\.8|192\.168\.99\.|1\.2\.3\.4|ns2\/svc2|172\.30\.0\.42/;
    const set = new Set(mine);
    expect(golden.filter((l) => !notModelled.test(l) && !set.has(l))).toEqual([]);
  });

  it("rules of each chain come in kube-proxy's order", () => {
    const rulesOf = (lines: string[]) => {
      const m = new Map<string, string[]>();
      for (const l of lines) {
        const r = /^add rule ip kube-proxy (\S+) /.exec(l);
        if (r?.[1]) m.set(r[1], [...(m.get(r[1]) ?? []), l]);
      }
      return m;
    };
    const g = rulesOf(golden);
    const generated = rulesOf(mine);
    expect(generated.size).toBeGreaterThan(0);
    for (const [chain, lines] of generated)
      expect(isSubsequence(lines, g.get(chain) ?? []), chain).toBe(true);
  });
});

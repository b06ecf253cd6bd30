import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIptablesSave } from "./save.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIptablesSave on real dumps of this kernel (nf_tables backend)", () => {
  const rs = parseIptablesSave(fixture("captured-kubeadm-nft.txt"));

  it("reads the nf_tables header and all three tables", () => {
    expect(rs.backend).toBe("nf_tables");
    expect(rs.version).toBe("1.8.9");
    expect([...rs.tables.keys()]).toEqual(["mangle", "filter", "nat"]);
  });

  it("a 3-endpoint KUBE-SVC chain has the masquerade rule plus the probability ladder", () => {
    const svc = rs.tables.get("nat")?.chain("KUBE-SVC-YJOPSEYCAQBFRA2J");
    expect(svc?.rules).toHaveLength(4);
    const r2 = svc?.rules[1];
    expect(r2?.index).toBe(2);
    expect(r2?.line).toBe(162);
    expect(r2?.comment).toBe("default/service1:fileserver -> 10.244.1.4:8080");
    expect(r2?.matches.find((m) => m.module === "statistic")?.options).toEqual([
      { name: "mode", negated: false, args: ["random"] },
      { name: "probability", negated: false, args: ["0.33333333349"] },
    ]);
    expect(r2?.target).toEqual({ name: "KUBE-SEP-5RGOO3QK7HUWX7JR", options: [], goto: false });
    expect(svc?.rules[3]?.matches.some((m) => m.module === "statistic")).toBe(false);
  });

  it("the masquerade rule keeps its negated source in the base match", () => {
    const r1 = rs.tables.get("nat")?.chain("KUBE-SVC-YJOPSEYCAQBFRA2J")?.rules[0];
    expect(r1?.matches[0]).toEqual({
      module: "",
      options: [
        { name: "s", negated: true, args: ["10.244.0.0/16"] },
        { name: "d", negated: false, args: ["10.108.64.11/32"] },
        { name: "p", negated: false, args: ["tcp"] },
      ],
    });
    expect(r1?.matches.find((m) => m.module === "tcp")?.options).toEqual([
      { name: "dport", negated: false, args: ["8080"] },
    ]);
  });

  it("a KUBE-SEP chain's DNAT target carries --to-destination", () => {
    const sep = rs.tables.get("nat")?.chain("KUBE-SEP-5RGOO3QK7HUWX7JR");
    expect(sep?.rules[1]?.target).toEqual({
      name: "DNAT",
      options: [{ name: "to-destination", negated: false, args: ["10.244.1.4:8080"] }],
      goto: false,
    });
  });

  it("keeps policy counters restored into the kernel with --counters, and rule counters from -c", () => {
    const pre = rs.tables.get("mangle")?.chain("PREROUTING");
    expect(pre?.policy).toBe("ACCEPT");
    expect(pre?.counters).toEqual({ packets: 218188, bytes: 41890116 });
    expect(rs.tables.get("filter")?.chain("FORWARD")?.policy).toBe("DROP");
    expect(rs.tables.get("nat")?.chain("KUBE-SERVICES")?.policy).toBeUndefined();
    expect(rs.tables.get("nat")?.chain("KUBE-MARK-MASQ")?.rules[0]?.counters).toEqual({
      packets: 0,
      bytes: 0,
    });
  });

  it("keeps the rule text exactly as dumped", () => {
    const r = rs.tables.get("nat")?.chain("KUBE-MARK-MASQ")?.rules[0];
    expect(r?.text).toBe("[0:0] -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
  });

  it("returns undefined for a chain the table does not have", () => {
    expect(rs.tables.get("nat")?.chain("KUBE-SVC-NOPE")).toBeUndefined();
  });
});

describe("parseIptablesSave on the legacy backend", () => {
  it("reads a legacy header and the same rules as the nf_tables dump", () => {
    const legacy = parseIptablesSave(fixture("captured-kubeadm-legacy.txt"));
    const nft = parseIptablesSave(fixture("captured-kubeadm-nft.txt"));
    expect(legacy.backend).toBe("legacy");
    const texts = (rs: typeof nft) =>
      rs.tables
        .get("nat")
        ?.chain("KUBE-SVC-YJOPSEYCAQBFRA2J")
        ?.rules.map((r) => r.text);
    expect(texts(legacy)).toEqual(texts(nft));
  });

  it("tolerates the double blank legacy iptables-save prints after --nfacct-name", () => {
    const rs = parseIptablesSave(fixture("captured-golden-nfacct-legacy.txt"));
    const fwd = rs.tables.get("filter")?.chain("KUBE-FORWARD");
    expect(fwd?.rules[0]?.matches.find((m) => m.module === "nfacct")?.options[0]).toEqual({
      name: "nfacct-name",
      negated: false,
      args: ["ct_state_invalid_dropped_pkts"],
    });
  });

  it("reads an old v1.4.21 dump whose first table has no header", () => {
    const rs = parseIptablesSave(fixture("k8s16-bind-externalip-jijisa-iptables-save-nat-filter.txt"));
    expect(rs.backend).toBe("legacy");
    expect(rs.version).toBe("1.4.21");
    const svc = rs.tables.get("nat")?.chain("KUBE-SVC-NPX46M4PTMTKRN6Y");
    const recent = svc?.rules[0]?.matches.find((m) => m.module === "recent");
    expect(recent?.options.map((o) => o.name)).toEqual([
      "rcheck",
      "seconds",
      "reap",
      "name",
      "mask",
      "rsource",
    ]);
    expect(recent?.options[1]?.args).toEqual(["10800"]);
  });

  it("reads iptables-save's escaped apostrophe inside a quoted comment", () => {
    const rs = parseIptablesSave(fixture("captured-golden-cleanup-nft.txt"));
    expect(rs.tables.get("filter")?.chain("INPUT")?.rules[2]?.comment).toBe("someone else's input rule");
  });
});

describe("parseIptablesSave on restore input (golden kube-proxy rules, no header)", () => {
  const rs = parseIptablesSave(fixture("k8s-golden-cleanup-initial-full-state.txt"));

  it("has no backend and joins unquoted multi-word comments", () => {
    expect(rs.backend).toBeUndefined();
    const input = rs.tables.get("filter")?.chain("INPUT");
    expect(input?.rules[1]?.comment).toBe("kubernetes health check service ports");
    expect(input?.rules[1]?.target?.name).toBe("KUBE-NODEPORTS");
  });

  it("collects a chain whose rules are not contiguous (OUTPUT's last rule comes after other chains)", () => {
    const filter = rs.tables.get("filter");
    expect(filter?.isScattered("OUTPUT")).toBe(true);
    const output = filter?.chain("OUTPUT");
    expect(output?.rules.map((r) => [r.index, r.line])).toEqual([
      [1, 21],
      [2, 22],
      [3, 33],
    ]);
    expect(output?.rules[2]?.comment).toBe("someone else's output rule");
    expect(filter?.isScattered("INPUT")).toBe(false);
  });

  it("keeps a rule without a target (KUBE-FW's trailing comment-only rule)", () => {
    const fw = rs.tables.get("nat")?.chain("KUBE-FW-NUKIZ6OKUXPJNT4C");
    expect(fw?.rules[1]?.target).toBeUndefined();
    expect(fw?.rules[1]?.comment).toBe(
      "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL",
    );
  });

  it("reads a table that declares chains but has no rules (mangle)", () => {
    expect(rs.tables.get("mangle")?.chainNames()).toEqual([
      "KUBE-IPTABLES-HINT",
      "KUBE-KUBELET-CANARY",
      "KUBE-PROXY-CANARY",
    ]);
  });
});

describe("parseIptablesSave is lazy", () => {
  it("indexes every chain but parses only the chains that are read, once", () => {
    const rs = parseIptablesSave(fixture("captured-kubeadm-nft.txt"));
    const nat = rs.tables.get("nat");
    expect(nat?.chainNames()).toHaveLength(31);
    expect(nat?.ruleCount).toBe(70);
    expect(rs.stats()).toEqual({ chainsParsed: 0, rulesParsed: 0 });
    const first = nat?.chain("KUBE-SVC-YJOPSEYCAQBFRA2J");
    expect(rs.stats()).toEqual({ chainsParsed: 1, rulesParsed: 4 });
    expect(nat?.chain("KUBE-SVC-YJOPSEYCAQBFRA2J")).toBe(first);
    expect(rs.stats()).toEqual({ chainsParsed: 1, rulesParsed: 4 });
  });

  it("rulesWhere parses only the lines a filter keeps, with their index in the whole chain", () => {
    const rs = parseIptablesSave(fixture("captured-kubeadm-nft.txt"));
    const nat = rs.tables.get("nat");
    expect(nat?.chainHeader("KUBE-SERVICES")?.ruleCount).toBe(7);
    expect(nat?.chainHeader("KUBE-SERVICES")?.chain.rules).toEqual([]);
    const kept = nat?.rulesWhere("KUBE-SERVICES", (line) => line.includes("--dport 8080 "));
    expect(kept?.map((r) => [r.index, r.line, r.target?.name])).toEqual([
      [5, 143, "KUBE-SVC-YJOPSEYCAQBFRA2J"],
    ]);
    expect(rs.stats()).toEqual({ chainsParsed: 0, rulesParsed: 1 });
    nat?.chain("KUBE-SERVICES");
    expect(rs.stats()).toEqual({ chainsParsed: 1, rulesParsed: 7 });
  });

  it("does not notice a malformed rule in a chain nobody reads, and names its line when one does", () => {
    const text = [
      "*nat",
      ":GOOD - [0:0]",
      ":BAD - [0:0]",
      "-A GOOD -j ACCEPT",
      '-A BAD -m comment --comment "never closed -j ACCEPT',
      "COMMIT",
      "",
    ].join("\n");
    const rs = parseIptablesSave(text);
    expect(rs.tables.get("nat")?.chain("GOOD")?.rules).toHaveLength(1);
    const err = parseError(() => rs.tables.get("nat")?.chain("BAD"));
    expect(err.line).toBe(5);
    expect(err.detail).toMatch(/unterminated double quote/);
  });
});

describe("parseIptablesSave rejects malformed and truncated dumps with the line", () => {
  it("a dump cut before COMMIT names the last line and the table", () => {
    const whole = fixture("captured-golden-cleanup-nft.txt");
    const cut = whole.slice(0, whole.indexOf("COMMIT", whole.indexOf("*nat")));
    const err = parseError(() => parseIptablesSave(cut));
    expect(err.source).toBe("iptables-save");
    expect(err.line).toBe(cut.split("\n").length - 1);
    expect(err.detail).toMatch(/table nat \(opened at line 50\) has no COMMIT/);
  });

  it("a grep-filtered dump: the first line is a rule outside a table", () => {
    const err = parseError(() =>
      parseIptablesSave(fixture("flannel-portmap-k8s115-hwchiu-iptables-save-nat-grep-hostport.txt")),
    );
    expect(err.line).toBe(1);
    expect(err.detail).toMatch(/rule outside a table/);
  });

  it("a rule for an undeclared chain", () => {
    const err = parseIptablesSave.bind(
      null,
      "*nat\n:A - [0:0]\n-A A -j B\n-A KUBE-SVC-X -j ACCEPT\nCOMMIT\n",
    );
    const e = parseError(err);
    expect(e.line).toBe(4);
    expect(e.detail).toMatch(/KUBE-SVC-X, which table nat does not declare/);
  });

  it("appending to an undeclared built-in chain is allowed (restore input), with no policy", () => {
    const rs = parseIptablesSave("*nat\n-A PREROUTING -j KUBE-SERVICES\n:KUBE-SERVICES - [0:0]\nCOMMIT\n");
    const pre = rs.tables.get("nat")?.chain("PREROUTING");
    expect(pre?.rules).toHaveLength(1);
    expect(pre?.policy).toBeUndefined();
  });

  it("an unknown line inside a table", () => {
    const e = parseError(() => parseIptablesSave("*filter\n:INPUT ACCEPT [0:0]\nhello world\nCOMMIT\n"));
    expect(e.line).toBe(3);
    expect(e.detail).toMatch(/not an iptables-save line/);
  });

  it("a new table before the previous one's COMMIT", () => {
    const e = parseError(() => parseIptablesSave("*filter\n:INPUT ACCEPT [0:0]\n*nat\nCOMMIT\n"));
    expect(e.line).toBe(3);
    expect(e.detail).toMatch(/table filter \(line 1\) has no COMMIT before \*nat/);
  });

  it("an unknown table, a restore command other than -A, bad counters", () => {
    expect(parseError(() => parseIptablesSave("*bogus\nCOMMIT\n")).line).toBe(1);
    expect(parseError(() => parseIptablesSave("*nat\n:A - [0:0]\n-I A 1 -j ACCEPT\nCOMMIT\n")).line).toBe(3);
    expect(parseError(() => parseIptablesSave("*nat\n:A - [0:0]\n[1:2 -A A -j ACCEPT\nCOMMIT\n")).line).toBe(
      3,
    );
  });

  it("CRLF line endings are read like LF", () => {
    const rs = parseIptablesSave("*nat\r\n:A - [0:0]\r\n-A A -j ACCEPT\r\nCOMMIT\r\n");
    expect(rs.tables.get("nat")?.chain("A")?.rules[0]?.text).toBe("-A A -j ACCEPT");
  });

  it("an empty dump (no tables loaded) is an empty ruleset", () => {
    expect(parseIptablesSave("").tables.size).toBe(0);
  });
});

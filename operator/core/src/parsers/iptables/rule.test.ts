import { describe, expect, it } from "vitest";
import { ParseError } from "../errors.js";
import { type IptablesRuleLocation, parseIptablesRule } from "./rule.js";
import { tokenizeIptables } from "./tokenize.js";

const loc: IptablesRuleLocation = { table: "nat", index: 1, line: 7, source: "iptables-save" };

describe("tokenizeIptables follows iptables-restore's quoting", () => {
  it("keeps a quoted comment with spaces, arrows and colons as one argument", () => {
    const toks = tokenizeIptables('-m comment --comment "ns/svc:http -> 10.244.1.5:80" -j X');
    expect(toks.map((t) => t.value)).toEqual([
      "-m",
      "comment",
      "--comment",
      "ns/svc:http -> 10.244.1.5:80",
      "-j",
      "X",
    ]);
    expect(toks[3]?.quoted).toBe(true);
  });

  it("unescapes backslashes inside quotes and joins quoted runs inside a word", () => {
    expect(tokenizeIptables('"a \\"b\\" c\\\\" x"y z"w').map((t) => t.value)).toEqual(['a "b" c\\', "xy zw"]);
  });

  it("treats a backslash outside quotes literally and collapses repeated blanks", () => {
    expect(tokenizeIptables("a\\b   c\t d").map((t) => t.value)).toEqual(["a\\b", "c", "d"]);
  });
});

describe("parseIptablesRule", () => {
  it("groups options by -m module and keeps base options in the base match wherever they appear", () => {
    const r = parseIptablesRule(
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
      loc,
    );
    expect(r.chain).toBe("KUBE-SERVICES");
    expect(r.matches).toEqual([
      {
        module: "",
        options: [
          { name: "p", negated: false, args: ["tcp"] },
          { name: "d", negated: false, args: ["172.30.0.41"] },
        ],
      },
      {
        module: "comment",
        options: [{ name: "comment", negated: false, args: ["ns1/svc1:p80 cluster IP"] }],
      },
      { module: "tcp", options: [{ name: "dport", negated: false, args: ["80"] }] },
    ]);
    expect(r.comment).toBe("ns1/svc1:p80 cluster IP");
    expect(r.target?.name).toBe("KUBE-SVC-XPGD46QRK7WJZT7O");
  });

  it("applies ! to the option after it, including module options", () => {
    const r = parseIptablesRule(
      "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
      loc,
    );
    expect(r.matches[0]?.options[0]).toEqual({ name: "s", negated: true, args: ["127.0.0.0/8"] });
    expect(r.matches[1]).toEqual({
      module: "conntrack",
      options: [{ name: "ctstate", negated: true, args: ["RELATED,ESTABLISHED,DNAT"] }],
    });
  });

  it("accepts the old `--option ! value` negation", () => {
    const r = parseIptablesRule("-A X -m conntrack --ctstate ! NEW -j ACCEPT", loc);
    expect(r.matches[0]?.options[0]).toEqual({ name: "ctstate", negated: true, args: ["NEW"] });
  });

  it("reads -g goto and target options, including flags without arguments", () => {
    const r = parseIptablesRule("-A POSTROUTING -s 10.244.0.0/16 ! -d 224.0.0.0/4 -g MASQ-CHAIN", loc);
    expect(r.target).toEqual({ name: "MASQ-CHAIN", options: [], goto: true });
    const m = parseIptablesRule(
      '-A KUBE-POSTROUTING -m comment --comment "snat" -j MASQUERADE --random-fully',
      loc,
    );
    expect(m.target?.options).toEqual([{ name: "random-fully", negated: false, args: [] }]);
  });

  it("reads a target glued to -j as getopt does (-jKUBE-SEP-…)", () => {
    const r = parseIptablesRule(
      "-A S -m statistic --mode random --probability 0.50000000000 -jKUBE-SEP-OEY6JJQSBCQPRKHS",
      loc,
    );
    expect(r.target?.name).toBe("KUBE-SEP-OEY6JJQSBCQPRKHS");
  });

  it("puts protocol options without -m into the protocol's implicit match", () => {
    const r = parseIptablesRule("-A X -p udp --dport 53 -j ACCEPT", loc);
    expect(r.matches[1]).toEqual({
      module: "udp",
      options: [{ name: "dport", negated: false, args: ["53"] }],
    });
  });

  it("reads `-c packets bytes` from iptables -S -v and [p:b] from iptables-save -c", () => {
    expect(parseIptablesRule("-A X -s 1.2.3.4/32 -c 12 3400 -j DROP", loc).counters).toEqual({
      packets: 12,
      bytes: 3400,
    });
    const r = parseIptablesRule("[5:300] -A X -j DROP", loc);
    expect(r.counters).toEqual({ packets: 5, bytes: 300 });
    expect(r.chain).toBe("X");
  });

  it("fails with the line on a dangling argument, a trailing !, or -j without a target", () => {
    for (const bad of ["-A X foo -j DROP", "-A X -j DROP !", "-A X -j", "-I X 1 -j DROP"]) {
      try {
        parseIptablesRule(bad, loc);
        throw new Error(`accepted ${bad}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ParseError);
        expect((e as ParseError).line).toBe(7);
      }
    }
  });
});

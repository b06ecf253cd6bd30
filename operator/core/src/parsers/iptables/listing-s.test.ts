import { describe, expect, it } from "vitest";
import { fixtureReader } from "../../testkit.js";
import { ParseError } from "../errors.js";
import { parseIptablesS } from "./listing-s.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIptablesS (iptables -t nat -S)", () => {
  it("reads -P policies, -N chains and an old-format flannel nat table", () => {
    const rs = parseIptablesS(fixture("flannel-k8s1x-burlyluo-iptables-nat-S.txt"), "nat");
    const nat = rs.tables.get("nat");
    expect(nat?.chain("PREROUTING")?.policy).toBe("ACCEPT");
    const post = nat?.chain("POSTROUTING");
    expect(post?.rules).toHaveLength(6);
    expect(post?.rules[1]?.matches[0]?.options).toEqual([
      { name: "s", negated: false, args: ["172.17.0.0/16"] },
      { name: "o", negated: true, args: ["docker0"] },
    ]);
    expect(nat?.chain("KUBE-SVC-NPX46M4PTMTKRN6Y")?.rules[0]?.target?.name).toBe("KUBE-SEP-QJ6PUN42T5XB236N");
  });

  it("reads the 6-endpoint KUBE-SVC ladder of `-S CHAIN -v` with -c counters", () => {
    const rs = parseIptablesS(fixture("k3s-robric-iptables-nat-S-v-etp-local-svl.txt"), "nat");
    const svc = rs.tables.get("nat")?.chain("KUBE-SVC-W47NQ5DDJKUWFTVY");
    expect(svc?.rules).toHaveLength(7);
    const probs = svc?.rules.map(
      (r) =>
        r.matches.find((m) => m.module === "statistic")?.options.find((o) => o.name === "probability")
          ?.args[0],
    );
    expect(probs).toEqual([
      undefined,
      "0.16666666651",
      "0.20000000019",
      "0.25000000000",
      "0.33333333349",
      "0.50000000000",
      undefined,
    ]);
    expect(svc?.rules[6]?.counters).toEqual({ packets: 0, bytes: 0 });
    expect(svc?.rules[6]?.target?.name).toBe("KUBE-SEP-DTKU7V2IJOC7TTKI");
  });

  it("reads the author's mangled `-jKUBE-SEP-…` line of the weave dump the way iptables would", () => {
    const rs = parseIptablesS(fixture("weave-katacoda-burlyluo-iptables-nat-S.txt"), "nat");
    const dns = rs.tables.get("nat")?.chain("KUBE-SVC-TCOU7JCQXEZGVUNU");
    expect(dns?.rules[0]?.line).toBe(48);
    expect(dns?.rules[0]?.target?.name).toBe("KUBE-SEP-OEY6JJQSBCQPRKHS");
  });

  it("rejects a rule for a chain no -N declared, with the line", () => {
    try {
      parseIptablesS("-P INPUT ACCEPT\n-A KUBE-X -j DROP\n", "filter");
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      expect((e as ParseError).line).toBe(2);
      expect((e as ParseError).detail).toMatch(/no '-N KUBE-X' line/);
    }
  });

  it("names the command it was given in its errors, also for a chain line read lazily (a dump cut short)", () => {
    const cut = parseIptablesS("-P PREROUTING ACCE", "nat", "iptables -t nat -S PREROUTING -v");
    expect(() => cut.tables.get("nat")?.chain("PREROUTING")).toThrow(
      'iptables -t nat -S PREROUTING -v: line 1: bad policy "ACCE": expected ACCEPT or DROP',
    );
    expect(() => parseIptablesS("\u0001 garbage", "filter", "iptables -t filter -S FORWARD -v")).toThrow(
      /^iptables -t filter -S FORWARD -v: line 1: not an iptables -S line/,
    );
  });
});

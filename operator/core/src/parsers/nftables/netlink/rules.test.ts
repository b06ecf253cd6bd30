import { describe, expect, it } from "vitest";
import type { NftRule, NftSet } from "../../../model/nftables.js";
import { NftNetlinkUnsupported } from "./errors.js";
import { anonymousSetsOf, decodeNftRules } from "./rules.js";
import { decodeNftSet } from "./sets.js";
import { attr, nestedList, newRule, str } from "./testdata/build.js";
import { CAPTURES, type Capture, loadCapture } from "./testdata/fixtures.js";

/**
 * Rules (by nft's own text) in shapes the decoder does not model; all from the hand-written
 * rulesets, none from the kube-proxy or flannel captures.
 */
const UNSUPPORTED = new Set([
  "dnat ip to ip daddr . tcp dport map @endpoint-dnat",
  'tcp dport { 22, 80-90 } log prefix "svc " level info drop',
  "limit rate 10/second accept",
  "tcp flags syn reject with tcp reset",
  'log prefix "x " drop',
  "iif lo accept",
  "ip daddr set 10.0.0.1",
  "tcp flags syn drop",
]);

function anonymousSets(capture: Capture): (name: string) => NftSet | undefined {
  const sets = new Map<string, NftSet>();
  for (const s of capture.sets.filter((x) => x.anonymous)) sets.set(s.name, decodeNftSet(s.set, s.elements));
  return (name) => sets.get(name);
}

describe("decodeNftRules equals parseNftJson(nft -j list chain) on this kernel's replies", () => {
  it("has chains to compare in every capture, and chains in shapes it does not model", () => {
    expect(CAPTURES.length).toBeGreaterThan(0);
    for (const file of CAPTURES) expect(loadCapture(file).chains.length, file).toBeGreaterThan(0);
    const unsupported = CAPTURES.flatMap((f) => loadCapture(f).chains).filter((c) =>
      c.expected.rules.some((r) => UNSUPPORTED.has(r.text)),
    );
    expect(unsupported.length).toBeGreaterThan(0);
  });
  for (const file of CAPTURES) {
    const capture = loadCapture(file);
    const anon = anonymousSets(capture);
    for (const c of capture.chains.filter((x) => !x.expected.rules.some((r) => UNSUPPORTED.has(r.text)))) {
      it(`${file}: chain ${c.name}`, () => {
        expect(decodeNftRules(c.messages, anon)).toEqual(c.expected.rules);
      });
    }
  }
});

describe("rules in shapes nft prints that the decoder does not model", () => {
  for (const file of CAPTURES) {
    const capture = loadCapture(file);
    const anon = anonymousSets(capture);
    for (const c of capture.chains.filter((x) => x.expected.rules.some((r) => UNSUPPORTED.has(r.text)))) {
      c.messages.forEach((m, i) => {
        const expected = c.expected.rules[i] as NftRule;
        if (UNSUPPORTED.has(expected.text)) {
          it(`${file}: "${expected.text}" throws NftNetlinkUnsupported`, () => {
            expect(() => decodeNftRules([m], anon)).toThrow(NftNetlinkUnsupported);
          });
        } else {
          it(`${file}: "${expected.text}", next to them, still decodes exactly`, () => {
            expect(decodeNftRules([m], anon)).toEqual([{ ...expected, index: 1 }]);
          });
        }
      });
    }
  }

  it("an expression the decoder does not know (log) throws NftNetlinkUnsupported naming it", () => {
    const log = attr(1, nestedList([attr(1, str("log")), attr(2, attr(2, str("x ")))]));
    const rule = newRule("ip", "t", "c", 7, [log]);
    expect(() => decodeNftRules([rule], () => undefined)).toThrow(/expression "log"/);
  });
});

describe("anonymousSetsOf", () => {
  it("names one anonymous set per inline set nft prints in a rule", () => {
    let checked = 0;
    for (const file of CAPTURES) {
      for (const c of loadCapture(file).chains) {
        c.messages.forEach((m, i) => {
          checked++;
          const inline = JSON.stringify(c.expected.rules[i]?.expr).match(/\{"set":\[/g)?.length ?? 0;
          expect(anonymousSetsOf([m]).length, `${file} ${c.name} rule ${i + 1}`).toBe(inline);
        });
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("finds the numgen vmaps of kube-proxy's service chains", () => {
    const capture = loadCapture("golden-kube-proxy");
    const chain = capture.chains.find((c) => c.name === "service-LAUZTJTB-ns4/svc4/tcp/p80");
    expect(chain && anonymousSetsOf(chain.messages)).toEqual(["__map3"]);
  });
});

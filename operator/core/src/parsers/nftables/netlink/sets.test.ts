import { describe, expect, it } from "vitest";
import { NftNetlinkUnsupported } from "./errors.js";
import { decodeNftSet } from "./sets.js";
import { CAPTURES, loadCapture } from "./testdata/fixtures.js";

/** Named sets in shapes the decoder does not model (hand-written ruleset): a concatenated interval map. */
const UNSUPPORTED = new Set(["endpoint-dnat"]);

describe("decodeNftSet equals parseNftJson(nft -j list set|map) on this kernel's replies", () => {
  for (const file of CAPTURES) {
    for (const s of loadCapture(file).sets) {
      const expected = s.expected;
      if (!expected) continue; // anonymous: nft does not list them by name; rules.test.ts checks them inline
      if (UNSUPPORTED.has(s.name)) {
        it(`${file}: ${s.name} throws NftNetlinkUnsupported`, () => {
          expect(() => decodeNftSet(s.set, s.elements)).toThrow(NftNetlinkUnsupported);
        });
      } else {
        it(`${file}: ${s.name}`, () => {
          expect(decodeNftSet(s.set, s.elements)).toEqual(expected);
        });
      }
    }
  }
});

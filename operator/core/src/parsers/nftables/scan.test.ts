import { describe, expect, test } from "vitest";
import { NftChunkScanner, type NftElementIndex, NftScanError, scanNftElements } from "./scan.js";
import { testdataFile } from "./testdata/fixtures.js";

function plain(ix: NftElementIndex): Array<[number, number, string]> {
  return ix.kind.map((k, i) => [ix.start.get(i), ix.end.get(i), k]);
}

function chunked(text: string, size: number): NftElementIndex {
  const bytes = Buffer.from(text, "latin1");
  const s = new NftChunkScanner();
  for (let i = 0; i < bytes.length; i += size) s.feed(bytes.subarray(i, i + size));
  return s.finish();
}

describe("scanNftElements", () => {
  test("finds each top-level element and its kind, strings with brackets and escapes included", () => {
    const text =
      '{"nftables": [{"metainfo": {"v": "1"}}, {"rule": {"comment": "a \\" ] } {", "expr": [{}]}}, {"x": 1}]}';
    expect(plain(scanNftElements(text)).map(([, , k]) => k)).toEqual(["metainfo", "rule", "x"]);
    const [, rule] = plain(scanNftElements(text));
    expect(text.slice(rule?.[0], rule?.[1])).toBe('{"rule": {"comment": "a \\" ] } {", "expr": [{}]}}');
  });
  test("a truncated document and one without the nftables list are scan errors", () => {
    expect(() => scanNftElements('{"nftables": [{"a": 1}')).toThrow(NftScanError);
    expect(() => scanNftElements('{"tables": []}')).toThrow(/expected an object/);
  });
});

describe("NftChunkScanner", () => {
  test("indexes a document fed in chunks of any size exactly as the one-string scan does", () => {
    for (const name of ["golden-kube-proxy.nft.json", "iptables-nft-plus-flannel.nft.json"]) {
      const text = testdataFile(name);
      const whole = plain(scanNftElements(text));
      expect(whole.length).toBeGreaterThan(10);
      for (const size of [1, 7, 4096]) expect(plain(chunked(text, size))).toEqual(whole);
    }
  });
  test("a truncated document is an error at finish", () => {
    const text = testdataFile("golden-kube-proxy.nft.json");
    expect(() => chunked(text.slice(0, text.length / 2), 100)).toThrow(/truncated/);
  });
});

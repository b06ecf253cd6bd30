import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNftIndexed, parseNftJson } from "@netmap/core";
import { afterAll, describe, expect, test } from "vitest";
import { FileText, indexNftFile } from "./nft-file.js";

const golden = readFileSync(
  new URL("../../../core/src/parsers/nftables/testdata/golden-kube-proxy.nft.json", import.meta.url),
  "utf8",
);
const dir = mkdtempSync(join(tmpdir(), "netmap-nft-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a ruleset read from a file at offsets", () => {
  test("decodes the same chains as the in-memory parse, one chain at a time", () => {
    const path = join(dir, "golden.json");
    writeFileSync(path, golden);
    const fd = openSync(path, "r");
    try {
      const text = new FileText(fd, Buffer.byteLength(golden));
      const rs = parseNftIndexed(text, indexNftFile(fd, text.length), { decodeAllBelow: 0 });
      expect(rs.stats()).toEqual({ chainsParsed: 0, rulesParsed: 0 });
      const eager = parseNftJson(golden);
      expect(rs.tables[0]?.chains.get("services")).toEqual(eager.tables[0]?.chains.get("services"));
      expect(rs.stats().chainsParsed).toBe(1);
      expect(rs.tables[0]?.sets).toEqual(eager.tables[0]?.sets);
      expect(rs.version).toBe(eager.version);
    } finally {
      closeSync(fd);
    }
  });
});

describe("releasing a file-backed ruleset", () => {
  test("close() frees the descriptor once; reading after it fails instead of reading another file", () => {
    const path = join(dir, "release.json");
    writeFileSync(path, golden);
    const fd = openSync(path, "r");
    const text = new FileText(fd, Buffer.byteLength(golden));
    text.close();
    text.close();
    expect(() => closeSync(fd)).toThrow(/EBADF/);
    expect(() => text.window(0, 16)).toThrow(/released/);
  });
});

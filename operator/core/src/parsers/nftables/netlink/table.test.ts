import { describe, expect, it } from "vitest";
import { decodeNftTable } from "./table.js";
import { CAPTURES, loadCapture } from "./testdata/fixtures.js";

describe("decodeNftTable equals the table parseNftJson reads from nft -j list tables", () => {
  for (const file of CAPTURES) {
    it(file, () => {
      const c = loadCapture(file);
      const { family, name, handle, comment } = c.expectedTable;
      const expected = comment === undefined ? { family, name, handle } : { family, name, handle, comment };
      expect(decodeNftTable(c.tableMessage)).toEqual(expected);
    });
  }
});

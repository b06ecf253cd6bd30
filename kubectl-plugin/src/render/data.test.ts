import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { main } from "../main.js";
import { argv, captureIo } from "../test/io.js";
import { loadTrace, tracePath } from "../testdata/traces/index.js";
import { renderJson, renderYaml } from "./data.js";

describe("json and yaml output", () => {
  it("print the TraceResult exactly, top-level keys included", () => {
    const result = loadTrace("cross-node-mtu");
    const json = JSON.parse(renderJson(result));
    expect(json).toEqual(result);
    for (const k of ["verdict", "reason", "hops", "findings", "segments", "packet"])
      expect(json).toHaveProperty(k);
    expect(YAML.parse(renderYaml(result))).toEqual(result);
  });

  it("round-trip through `view`: -o json gives back the input byte for byte", async () => {
    const file = tracePath("cross-node-tcp");
    const c = captureIo();
    expect(await main(argv("view", file, "-o", "json"), c.io)).toBe(0);
    expect(c.out()).toBe(`${readFileSync(file, "utf8").trimEnd()}\n`);
    const y = captureIo(c.out());
    expect(await main(argv("view", "-", "-o", "yaml"), y.io)).toBe(0);
    expect(YAML.parse(y.out())).toEqual(loadTrace("cross-node-tcp"));
  });

  it("rejects a file that is not a trace result", async () => {
    const c = captureIo('{"kind":"Pod"}');
    expect(await main(argv("view", "-"), c.io)).toBe(1);
    expect(c.err()).toMatch(/not a netmap trace result \(missing verdict, reason, hops/);
  });
});

import { ParseError } from "@netmap/core";
import { describe, expect, it } from "vitest";
import { walkFailure } from "./failure.js";

describe("walkFailure", () => {
  it("says what to do when a tool's output cannot be read", () => {
    expect(
      walkFailure(new ParseError("iptables -S", 1, 'bad policy "ACCE": expected ACCEPT or DROP'), "n2", "p2"),
    ).toBe(
      'iptables -S: line 1: bad policy "ACCE": expected ACCEPT or DROP; netmap could not read what a tool on node n2 printed (cut short, garbled, or a format it does not know): trace again, and if it fails the same way run that command on n2 to see its output (node n2, probe p2)',
    );
    expect(
      walkFailure(new Error("ip -j link show: output is not JSON (Unexpected end)"), "n2", "p2"),
    ).toMatch(/output is not JSON \(Unexpected end\); netmap could not read what a tool on node n2 printed/);
  });

  it("keeps other errors as they are, with the node and the probe", () => {
    expect(walkFailure(new Error("netns /proc/1/ns/net does not exist"), "n1", "p1")).toBe(
      "netns /proc/1/ns/net does not exist (node n1, probe p1)",
    );
  });
});

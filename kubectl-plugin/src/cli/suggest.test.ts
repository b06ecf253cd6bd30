import { describe, expect, it } from "vitest";
import { closestMatches, didYouMean, editDistance } from "./suggest.js";

describe("closestMatches", () => {
  it("measures edit distance", () => {
    expect(editDistance("pod-a", "pod-b")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });
  it("suggests near names first and drops far ones", () => {
    const names = ["pod-a", "pod-b", "kube-dns", "10.244.0.2", "default/pod-a"];
    expect(closestMatches("pod-z", names)).toEqual(["pod-a", "pod-b"]);
    expect(closestMatches("10.244.0.9", names)).toEqual(["10.244.0.2"]);
    expect(didYouMean("zzzzzzzzzz", names)).toBe("");
  });
  it("prefers substring matches", () => {
    expect(closestMatches("pod-a", ["default/pod-a", "pod-b"])[0]).toBe("default/pod-a");
  });
});

import { describe, expect, it } from "vitest";
import { setCondition } from "./conditions.js";

describe("setCondition", () => {
  const t0 = new Date("2026-01-01T00:00:00Z");
  const t1 = new Date("2026-01-01T00:01:00Z");

  it("keeps lastTransitionTime while the status stays, moves it when the status changes", () => {
    const a = setCondition([], { type: "Completed", status: "False", reason: "Tracing", message: "m" }, t0);
    const b = setCondition(a, { type: "Completed", status: "False", reason: "Waiting", message: "m2" }, t1);
    expect(b[0]?.lastTransitionTime).toBe(t0.toISOString());
    expect(b[0]?.reason).toBe("Waiting");
    const c = setCondition(b, { type: "Completed", status: "True", reason: "Delivered", message: "m3" }, t1);
    expect(c[0]?.lastTransitionTime).toBe(t1.toISOString());
    expect(c).toHaveLength(1);
  });
});

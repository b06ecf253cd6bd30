/**
 * The engine's hand-off, bound from @netmap/core at run time. nextStep is landing in core with the
 * per-node walk (issue 10); until a core with it is installed, the operator starts and fails each
 * trace's reconcile with this message instead of failing to build.
 */
import * as core from "@netmap/core";
import type { NextStep } from "./reconcile.js";

export function coreNextStep(): NextStep {
  const fn = (core as unknown as Record<string, unknown>).nextStep;
  if (typeof fn === "function") return fn as NextStep;
  return () => {
    throw new Error(
      "this build of @netmap/core has no nextStep (the per-node walk): rebuild with a core that has it",
    );
  };
}

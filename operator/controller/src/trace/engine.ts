/** The engine's hand-off the operator replays: @netmap/core's nextStep (pure). */
import { nextStep } from "@netmap/core";
import type { NextStep } from "./reconcile.js";

export function coreNextStep(): NextStep {
  return nextStep;
}

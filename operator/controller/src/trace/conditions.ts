/** Status conditions the Kubernetes way: lastTransitionTime moves only when status changes. */
import type { Condition, ConditionStatus } from "@netmap/api";

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** `conditions` with `c` set: its transition time kept when the status is unchanged. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  c: ConditionInput,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    ...c,
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now.toISOString(),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

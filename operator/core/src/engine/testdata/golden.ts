/**
 * The engine tests' `trace`: the real engine, plus a record of what it answered for the request
 * direction, kept as a Vitest snapshot next to the test file. The snapshots were first written by
 * the whole-cluster engine (commit 9a8d89d, before the per-node walk); every engine test shape is
 * checked against them on every run, so a change of the request path shows up as a snapshot diff.
 */
import { expect } from "vitest";
import type { TraceResult } from "../../model/trace.js";
import { type TraceInput, trace as engineTrace } from "../walk.js";

/** The request direction of a result: what the whole-cluster engine computed. */
export function requestPart(r: TraceResult): Omit<TraceResult, "packet"> {
  const { packet: _packet, ...rest } = r;
  return rest;
}

export function trace(input: TraceInput): TraceResult {
  const r = engineTrace(input);
  expect(requestPart(r)).toMatchSnapshot();
  return r;
}

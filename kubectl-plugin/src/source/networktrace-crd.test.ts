/**
 * The NetworkTrace CRD (crds/netmap.io_networktraces.yaml) against the model it carries: its enums
 * are exactly the model's, and every real trace result validates against the status schema with no
 * field the API server would silently prune (structural schemas drop unknown fields).
 */
import { readFileSync } from "node:fs";
import {
  AFFINITY_MODES,
  DIRECTIONS,
  FINDING_CODES,
  HOP_ACTIONS,
  LAYERS,
  PRIMITIVES,
  PROTOCOLS,
  SEVERITIES,
  VERDICTS,
} from "@netmap/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadTrace, TRACE_NAMES } from "../testdata/traces/index.js";

interface Schema {
  type?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  "x-kubernetes-int-or-string"?: boolean;
}

const crd = parse(
  readFileSync(new URL("../../../crds/netmap.io_networktraces.yaml", import.meta.url), "utf8"),
) as {
  spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
};
const root = crd.spec.versions[0]?.schema.openAPIV3Schema as Schema;
const status = root.properties?.status as Schema;
const at = (s: Schema, ...path: string[]): Schema => {
  let cur = s;
  for (const p of path) {
    const next = p === "[]" ? cur.items : cur.properties?.[p];
    if (!next) throw new Error(`schema has no ${path.join(".")}`);
    cur = next;
  }
  return cur;
};

/** A structural check in the API server's terms: types, required, enums, bounds, no unknown fields. */
function validate(value: unknown, schema: Schema, path: string, errors: string[]): void {
  if (schema["x-kubernetes-int-or-string"]) return;
  const t = schema.type;
  if (t === "object") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      errors.push(`${path}: expected object`);
      return;
    }
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}.${r}: required`);
    if (!schema.properties) return; // free-form (metadata)
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties[k];
      if (!sub) errors.push(`${path}.${k}: not in the schema (the API server would prune it)`);
      else validate(v, sub, `${path}.${k}`, errors);
    }
  } else if (t === "array") {
    if (!Array.isArray(value)) errors.push(`${path}: expected array`);
    else if (schema.items) {
      for (const [i, v] of value.entries()) validate(v, schema.items, `${path}[${i}]`, errors);
    }
  } else if (t === "string" && typeof value !== "string") errors.push(`${path}: expected string`);
  else if (t === "integer" && !Number.isInteger(value)) errors.push(`${path}: expected integer`);
  else if (t === "number" && typeof value !== "number") errors.push(`${path}: expected number`);
  else if (t === "boolean" && typeof value !== "boolean") errors.push(`${path}: expected boolean`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${String(value)} not in enum`);
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum)
    errors.push(`${path}: below minimum`);
  if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum)
    errors.push(`${path}: above maximum`);
}

describe("NetworkTrace CRD (netmap.io/v1alpha1)", () => {
  it("enumerates exactly the model's verdicts, layers, primitives, actions, finding codes, protocols, affinity modes and directions", () => {
    expect(at(status, "verdict").enum).toEqual([...VERDICTS]);
    expect(at(status, "hops", "[]", "layer").enum).toEqual([...LAYERS]);
    expect(at(status, "hops", "[]", "primitive").enum).toEqual([...PRIMITIVES]);
    expect(at(status, "hops", "[]", "action").enum).toEqual([...HOP_ACTIONS]);
    expect(at(status, "findings", "[]", "code").enum).toEqual([...FINDING_CODES]);
    expect(at(status, "findings", "[]", "severity").enum).toEqual([...SEVERITIES]);
    expect(at(root, "spec", "protocol").enum).toEqual([...PROTOCOLS]);
    expect(at(status, "packet", "protocol").enum).toEqual([...PROTOCOLS]);
    expect(at(status, "hops", "[]", "affinity", "mode").enum).toEqual([...AFFINITY_MODES]);
    for (const path of [
      ["stoppedIn"],
      ["hops", "[]", "direction"],
      ["segments", "[]", "direction"],
      ["directions", "[]", "direction"],
    ]) {
      expect(at(status, ...path).enum, path.join(".")).toEqual([...DIRECTIONS]);
    }
    expect(at(status, "directions", "[]", "verdict").enum).toEqual([...VERDICTS]);
  });

  it.each(TRACE_NAMES)("carries the real trace %s in status without losing a field", (name) => {
    const errors: string[] = [];
    validate(loadTrace(name), status, "status", errors);
    expect(errors).toEqual([]);
  });

  it("keeps a sticky Service's affinity (iptables and nftables mode) in status", () => {
    for (const name of ["service-sticky-iptables", "service-sticky-nftables"] as const) {
      const trace = loadTrace(name);
      const hop = trace.hops.find((h) => h.affinity);
      expect(hop?.affinity?.evidence.length).toBeGreaterThan(1);
      const errors: string[] = [];
      validate(hop, at(status, "hops", "[]"), "hop", errors);
      expect(errors).toEqual([]);
    }
    const errors: string[] = [];
    validate(
      { mode: "Sticky", timeoutSeconds: 1.5, client: "x", evidence: [] },
      at(status, "hops", "[]", "affinity"),
      "affinity",
      errors,
    );
    expect(errors).toEqual([
      "affinity.mode: Sticky not in enum",
      "affinity.timeoutSeconds: expected integer",
    ]);
  });

  it("rejects what the API server would reject or prune", () => {
    const trace = loadTrace("cross-node-tcp");
    const errors: string[] = [];
    validate({ ...trace, verdict: "Maybe", extra: 1, hops: [{ index: 0 }] }, status, "status", errors);
    expect(errors).toEqual(
      expect.arrayContaining([
        "status.verdict: Maybe not in enum",
        "status.extra: not in the schema (the API server would prune it)",
        "status.hops[0].node: required",
      ]),
    );
  });
});

/**
 * A structural check in the API server's terms (types, required fields, enums, bounds, and fields
 * the server would prune because the schema does not name them). CEL rules are not evaluated here:
 * the control-plane tests send objects to a real API server for that.
 */
import type { Schema } from "./schema.js";

/** The problems of `value` against `schema`, one line each, prefixed with the path ("" = valid). */
export function structuralErrors(value: unknown, schema: Schema, path = "$"): string[] {
  const errors: string[] = [];
  check(value, schema, path, errors);
  return errors;
}

function check(value: unknown, schema: Schema, path: string, errors: string[]): void {
  if (schema["x-kubernetes-int-or-string"]) {
    if (typeof value !== "string" && !Number.isInteger(value)) errors.push(`${path}: expected int or string`);
    return;
  }
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
      else check(v, sub, `${path}.${k}`, errors);
    }
    return;
  }
  if (t === "array") {
    if (!Array.isArray(value)) errors.push(`${path}: expected array`);
    else if (schema.items)
      for (const [i, v] of value.entries()) check(v, schema.items, `${path}[${i}]`, errors);
    return;
  }
  if (t === "string" && typeof value !== "string") errors.push(`${path}: expected string`);
  else if (t === "integer" && !Number.isInteger(value)) errors.push(`${path}: expected integer`);
  else if (t === "number" && typeof value !== "number") errors.push(`${path}: expected number`);
  else if (t === "boolean" && typeof value !== "boolean") errors.push(`${path}: expected boolean`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${String(value)} not in enum`);
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum)
    errors.push(`${path}: below minimum ${schema.minimum}`);
  if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum)
    errors.push(`${path}: above maximum ${schema.maximum}`);
  if (typeof value === "string" && schema.maxLength !== undefined && value.length > schema.maxLength)
    errors.push(`${path}: longer than ${schema.maxLength}`);
  if (typeof value === "string" && schema.minLength !== undefined && value.length < schema.minLength)
    errors.push(`${path}: shorter than ${schema.minLength}`);
}

/**
 * Reading CustomResourceDefinition files for tests: their CEL rules (x-kubernetes-validations) and
 * the smallest object their schema describes (required fields only, first enum value, minimum
 * bounds) — a starting point that reaches the API server's CEL rules instead of its schema checks.
 */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string; messageExpression?: string }[];
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: JsonSchema;
}

export interface Crd {
  file: string;
  name: string;
  group: string;
  kind: string;
  plural: string;
  scope: "Namespaced" | "Cluster";
  versions: CrdVersion[];
}

export interface CelRule {
  /** Where the rule sits in the object, e.g. `.spec` or `.spec.destination`. */
  path: string;
  rule: string;
  message?: string;
  messageExpression?: string;
}

interface RawCrd {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    group?: string;
    scope?: "Namespaced" | "Cluster";
    names?: { kind?: string; plural?: string };
    versions?: {
      name: string;
      served: boolean;
      storage: boolean;
      schema?: { openAPIV3Schema?: JsonSchema };
    }[];
  };
}

/** The CustomResourceDefinitions in a YAML file (one or several documents). */
export function readCrds(file: string): Crd[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  const out: Crd[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const raw = doc.toJS() as RawCrd | null;
    if (raw?.kind !== "CustomResourceDefinition") continue;
    const spec = raw.spec ?? {};
    out.push({
      file,
      name: raw.metadata?.name ?? "",
      group: spec.group ?? "",
      kind: spec.names?.kind ?? "",
      plural: spec.names?.plural ?? "",
      scope: spec.scope ?? "Namespaced",
      versions: (spec.versions ?? []).map((v) => ({
        name: v.name,
        served: v.served,
        storage: v.storage,
        schema: v.schema?.openAPIV3Schema ?? {},
      })),
    });
  }
  return out;
}

/** Every x-kubernetes-validations rule of a schema, with its path. */
export function celRules(schema: JsonSchema, path = ""): CelRule[] {
  const rules: CelRule[] = (schema["x-kubernetes-validations"] ?? []).map((r) => ({
    path: path || ".",
    rule: r.rule,
    ...(r.message !== undefined ? { message: r.message } : {}),
    ...(r.messageExpression !== undefined ? { messageExpression: r.messageExpression } : {}),
  }));
  for (const [name, sub] of Object.entries(schema.properties ?? {}))
    rules.push(...celRules(sub, `${path}.${name}`));
  if (schema.items) rules.push(...celRules(schema.items, `${path}[*]`));
  return rules;
}

function minimalString(schema: JsonSchema): string {
  switch (schema.format) {
    case "date-time":
      return "2026-01-01T00:00:00Z";
    case "int64":
    case "int32":
      return "1";
    default:
      return "a".repeat(Math.max(1, schema.minLength ?? 1));
  }
}

/** The smallest value the schema accepts structurally (required properties only). */
export function minimalValue(schema: JsonSchema): unknown {
  if (schema.enum?.length) return schema.enum[0];
  if (schema["x-kubernetes-int-or-string"]) return Math.max(1, schema.minimum ?? 1);
  switch (schema.type) {
    case "string":
      return minimalString(schema);
    case "integer":
    case "number":
      return schema.minimum ?? Math.min(1, schema.maximum ?? 1);
    case "boolean":
      return false;
    case "array":
      return Array.from({ length: schema.minItems ?? 0 }, () => minimalValue(schema.items ?? {}));
    default: {
      const obj: Record<string, unknown> = {};
      for (const key of schema.required ?? []) {
        obj[key] = minimalValue(schema.properties?.[key] ?? {});
      }
      return obj;
    }
  }
}

/** A minimal object of the CRD's storage version, named `name` (in `namespace` when namespaced). */
export function minimalObject(crd: Crd, name: string, namespace?: string): Record<string, unknown> {
  const version = crd.versions.find((v) => v.storage) ?? crd.versions[0];
  if (!version) throw new Error(`${crd.file}: CRD ${crd.name} has no version`);
  const body = minimalValue(version.schema) as Record<string, unknown>;
  delete body.apiVersion;
  delete body.kind;
  delete body.metadata;
  return {
    apiVersion: `${crd.group}/${version.name}`,
    kind: crd.kind,
    metadata: { name, ...(crd.scope === "Namespaced" && namespace ? { namespace } : {}) },
    ...body,
  };
}

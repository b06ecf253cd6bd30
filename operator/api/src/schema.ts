/** The OpenAPI v3 subset a CRD's structural schema uses, and how to find a node in one. */

export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: Array<{ rule: string; message?: string; messageExpression?: string }>;
}

/** The parts of a CustomResourceDefinition this package reads and writes. */
export interface CrdDocument {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string };
  spec: {
    group: string;
    scope: "Namespaced" | "Cluster";
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: Record<string, never> };
      selectableFields?: Array<{ jsonPath: string }>;
      additionalPrinterColumns?: Array<{
        name: string;
        type: string;
        jsonPath: string;
        description?: string;
        priority?: number;
      }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

/** The schema at `path` ("[]" steps into an array's items); throws naming the path when it is not there. */
export function schemaAt(root: Schema, ...path: string[]): Schema {
  let cur = root;
  for (const p of path) {
    const next = p === "[]" ? cur.items : cur.properties?.[p];
    if (!next) throw new Error(`the schema has no ${path.join(".")} (stopped at ${p})`);
    cur = next;
  }
  return cur;
}

/** The openAPIV3Schema of a CRD's only version. */
export function rootSchema(crd: CrdDocument): Schema {
  const v = crd.spec.versions[0];
  if (!v) throw new Error(`CRD ${crd.metadata.name} has no version`);
  return v.schema.openAPIV3Schema;
}

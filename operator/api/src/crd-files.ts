/** The CRD files in crds/: where they are, how they are read, and the generated one's text. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import type { CrdDocument } from "./schema.js";
import { segmentCrd } from "./segment-crd.js";

/** The repository's crds/ directory (this file is operator/api/{src,dist}/crd-files.*). */
export const CRDS_DIR = fileURLToPath(new URL("../../../crds/", import.meta.url));
export const NETWORK_TRACE_CRD_FILE = `${CRDS_DIR}netmap.io_networktraces.yaml`;
export const SEGMENT_CRD_FILE = `${CRDS_DIR}netmap.io_networktracesegments.yaml`;

/** Every CRD file the chart and the tests apply, in apply order. */
export const CRD_FILES: readonly string[] = [NETWORK_TRACE_CRD_FILE, SEGMENT_CRD_FILE];

export function readCrd(file: string): CrdDocument {
  return parse(readFileSync(file, "utf8")) as CrdDocument;
}

const HEADER = `# GENERATED from netmap.io_networktraces.yaml by operator/api/src/segment-crd.ts: do not edit.
# Regenerate with \`npm run crds\` after changing NetworkTrace's status schema (packet, hops, findings,
# verdict); operator/api/src/crd.test.ts fails while this file is stale.
#
# NetworkTraceSegment: one node's part of one NetworkTrace. The operator writes spec (the node's
# task); the probe of spec.nodeName writes status (the node's walk) through the status subresource.
`;

/** The text of crds/netmap.io_networktracesegments.yaml for the NetworkTrace CRD `networkTrace`. */
export function segmentCrdText(networkTrace: CrdDocument): string {
  return HEADER + stringify(segmentCrd(networkTrace), { lineWidth: 0, aliasDuplicateObjects: false });
}

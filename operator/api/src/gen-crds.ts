#!/usr/bin/env node
/** Rewrites crds/netmap.io_networktracesegments.yaml from crds/netmap.io_networktraces.yaml (`npm run crds`). */
import { writeFileSync } from "node:fs";
import { NETWORK_TRACE_CRD_FILE, readCrd, SEGMENT_CRD_FILE, segmentCrdText } from "./crd-files.js";

writeFileSync(SEGMENT_CRD_FILE, segmentCrdText(readCrd(NETWORK_TRACE_CRD_FILE)));
process.stdout.write(`wrote ${SEGMENT_CRD_FILE}\n`);

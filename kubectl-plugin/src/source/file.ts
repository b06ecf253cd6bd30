/** A saved trace result (`-o json`/`-o yaml` output, or a NetworkTrace status) as a TraceSource. */
import { readFile } from "node:fs/promises";
import type { TraceResult } from "@netmap/core";
import YAML from "yaml";
import { UsageError } from "../cli/errors.js";
import { type ProgressListener, progressReporter, type TraceSource } from "./types.js";

/** Checks the top-level shape of a TraceResult; throws a UsageError naming what is missing. */
export function asTraceResult(value: unknown, from: string): TraceResult {
  const obj = value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  const missing = ["verdict", "reason", "hops", "findings", "segments", "packet"].filter(
    (k) => !obj || !(k in obj),
  );
  if (!obj || missing.length > 0 || !Array.isArray(obj.hops) || !Array.isArray(obj.findings)) {
    throw new UsageError(
      `${from} is not a netmap trace result (missing ${missing.join(", ") || "hop list"})`,
      "save one with: kubectl netmap trace --snapshots <dir> <src> <dst> -o json > trace.json",
    );
  }
  return withDirections(obj as unknown as TraceResult);
}

/**
 * A result saved before netmap followed replies has no directions: all of it is the request. Fills
 * them in, so a saved trace renders like a new one.
 */
function withDirections(r: TraceResult): TraceResult {
  const legacy = r as TraceResult & { directions?: TraceResult["directions"] };
  if (Array.isArray(legacy.directions)) return r;
  return {
    ...r,
    directions: [
      {
        direction: "request",
        packet: r.packet,
        verdict: r.verdict,
        reason: r.reason,
        ...(r.stoppedAt !== undefined ? { stoppedAt: r.stoppedAt } : {}),
        ...(r.missing ? { missing: r.missing } : {}),
      },
    ],
    hops: r.hops.map((h) => ({ ...h, direction: "request" as const })),
    segments: (r.segments ?? []).map((s) => ({ ...s, direction: "request" as const })),
  };
}

/** Reads a trace result from a JSON or YAML file, or from stdin when the path is "-". */
export class FileTraceSource implements TraceSource {
  readonly description: string;

  constructor(
    private readonly path: string,
    private readonly readStdin: () => Promise<string>,
  ) {
    this.description = path === "-" ? "stdin" : path;
  }

  async run(onProgress: ProgressListener): Promise<TraceResult> {
    progressReporter(onProgress)(`reading ${this.description}`);
    let text: string;
    try {
      text = this.path === "-" ? await this.readStdin() : await readFile(this.path, "utf8");
    } catch (err) {
      throw new UsageError(
        `cannot read ${this.description}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    let value: unknown;
    try {
      value = text.trimStart().startsWith("{") ? JSON.parse(text) : YAML.parse(text);
    } catch (err) {
      throw new UsageError(
        `${this.description} is not JSON or YAML: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return asTraceResult(value, this.description);
  }
}

/**
 * charts/netmap as the tests see it: `helm template` / `helm lint` with given values (helm v3.21.4,
 * built by e2e/infra/go-tools.sh), the rendered manifests as objects, and the chart's values files.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { CommandError, execCommand } from "../control-plane/index.js";
import { repoRoot } from "../control-plane/tools.js";

export const CHART_DIR = join(repoRoot(), "charts/netmap");
export const KUBE_VERSION = "1.33.13";
export const RELEASE = "netmap";
export const NAMESPACE = "netmap";

/** A Kubernetes object as rendered (loosely typed: tests read paths of their own choosing). */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** The chart's ci/*-values.yaml files (each a variant CI renders, lints and installs). */
export function ciValuesFiles(): string[] {
  const dir = join(CHART_DIR, "ci");
  return readdirSync(dir)
    .filter((f) => f.endsWith("-values.yaml"))
    .sort()
    .map((f) => join(dir, f));
}

/** values.yaml of the chart, parsed. */
export function defaultValues(): Record<string, unknown> {
  return parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;
}

let valuesDir: string | undefined;
let valuesCount = 0;

/** Writes `values` to a file helm reads with -f (JSON is YAML). */
export function valuesFile(values: unknown): string {
  valuesDir ??= mkdtempSync(join(tmpdir(), "netmap-chart-values-"));
  const file = join(valuesDir, `values-${++valuesCount}.json`);
  writeFileSync(file, JSON.stringify(values));
  return file;
}

export interface RenderOptions {
  /** Values files, in order (later ones win). */
  files?: readonly string[];
  /** Values given as an object (after files). */
  values?: unknown;
  namespace?: string;
  release?: string;
  /** Another chart directory (an older version of the chart, in the upgrade test). */
  chart?: string;
}

function valuesArgs(o: RenderOptions): string[] {
  const files = [...(o.files ?? []), ...(o.values !== undefined ? [valuesFile(o.values)] : [])];
  return files.flatMap((f) => ["-f", f]);
}

/** helm's stderr without its note about the files/crds symlink (the repository's crds/). */
export function helmStderr(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !/found symbolic link in path/.test(l))
    .join("\n")
    .trim();
}

/** `helm template`; returns the manifests' text, or throws a CommandError with helm's message. */
export async function helmTemplate(helm: string, o: RenderOptions = {}): Promise<string> {
  const argv = [
    helm,
    "template",
    o.release ?? RELEASE,
    o.chart ?? CHART_DIR,
    "--namespace",
    o.namespace ?? NAMESPACE,
    "--kube-version",
    KUBE_VERSION,
    ...valuesArgs(o),
  ];
  const r = await execCommand(argv, { timeoutMs: 60_000 });
  if (r.code !== 0) {
    const err = helmStderr(r.stderr);
    throw new CommandError(`helm template failed: ${err}`, argv, r.code, r.stdout, err);
  }
  return r.stdout;
}

/** The rendered manifests as objects. */
export async function render(helm: string, o: RenderOptions = {}): Promise<Manifest[]> {
  return parseManifests(await helmTemplate(helm, o));
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === "object" && typeof m.kind === "string");
}

/** What helm says when the values are refused (the schema's words), or throws if they render. */
export async function refusal(helm: string, values: unknown): Promise<string> {
  try {
    await helmTemplate(helm, { values });
  } catch (e) {
    if (e instanceof CommandError) return e.stderr;
    throw e;
  }
  throw new Error(`helm rendered the chart with ${JSON.stringify(values)}; expected the schema to refuse it`);
}

/** `helm lint --strict`: resolves with its output when it passes, throws with it otherwise. */
export async function helmLint(helm: string, files: readonly string[] = []): Promise<string> {
  const argv = [
    helm,
    "lint",
    CHART_DIR,
    "--strict",
    "--kube-version",
    KUBE_VERSION,
    ...files.flatMap((f) => ["-f", f]),
  ];
  const r = await execCommand(argv, { timeoutMs: 60_000 });
  const out = `${r.stdout}\n${helmStderr(r.stderr)}`.trim();
  if (r.code !== 0) throw new CommandError(`helm lint failed: ${out}`, argv, r.code, r.stdout, r.stderr);
  return out;
}

/** The one object of `kind` named `name`; throws naming what there is. */
export function one(objs: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} rendered; there are: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`,
    );
  return found;
}

export function has(objs: readonly Manifest[], kind: string, name: string): boolean {
  return objs.some((o) => o.kind === kind && o.metadata.name === name);
}

/** The value at a dotted path ("spec.template.spec.containers.0.image"), or undefined. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Machine-readable views: the TraceResult exactly as the engine (or a NetworkTrace status) has it. */
import YAML from "yaml";

/** Pretty JSON with a trailing newline; the shape is the input's, untouched. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** YAML of the same shape as {@link renderJson}. */
export function renderYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0 });
}

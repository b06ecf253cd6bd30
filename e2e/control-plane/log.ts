/**
 * Structured log lines for the control-plane harness: `[control-plane] msg="…" key=value …` on
 * stderr (logfmt), so a test's output says what the harness is doing and grep can pick fields.
 */

export type LogFields = Record<string, string | number | boolean | undefined>;
export type Logger = (msg: string, fields?: LogFields) => void;

function quote(value: string): string {
  return /^[\w./:@+-]+$/.test(value) ? value : JSON.stringify(value);
}

export function formatLine(component: string, msg: string, fields: LogFields = {}): string {
  const parts = [`[${component}]`, `msg=${JSON.stringify(msg)}`];
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) parts.push(`${k}=${quote(String(v))}`);
  }
  return parts.join(" ");
}

/** A logger writing to stderr; `NETMAP_CP_QUIET=1` silences it. */
export function stderrLogger(component = "control-plane"): Logger {
  return (msg, fields) => {
    if (process.env.NETMAP_CP_QUIET === "1") return;
    process.stderr.write(`${formatLine(component, msg, fields)}\n`);
  };
}

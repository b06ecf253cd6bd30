/** The probe's structured logs: one JSON object per line on stderr. */

export type ProbeLogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<ProbeLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ProbeLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function probeLogger(level: ProbeLogLevel, base: Record<string, unknown>): ProbeLogger {
  const emit = (l: ProbeLogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[l] < ORDER[level]) return;
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...base, ...fields })}\n`,
    );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

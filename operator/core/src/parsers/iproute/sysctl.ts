/** `sysctl -a` / `sysctl k1 k2` output → Sysctls. */
import { sourceCommand } from "../../capture/sources.js";
import type { Sysctls } from "../../model/sysctl.js";
import { ParseError } from "../errors.js";

const LINE = /^([A-Za-z0-9_][A-Za-z0-9_./-]*)\s*=\s?(.*)$/;

/**
 * Parse `key = value` lines. Values are kept as printed (multi-value keys keep their tabs:
 * `net.ipv4.ip_local_port_range = 32768\t60999`), an empty value stays "". Blank lines are ignored;
 * any other line is a ParseError naming its line number.
 */
export function parseSysctl(text: string): Sysctls {
  const source = sourceCommand("sysctl");
  const out: Sysctls = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === "") return;
    const m = LINE.exec(raw);
    if (!m) throw new ParseError(source, i + 1, "expected `key = value`", raw);
    const [, key = "", value = ""] = m;
    out[key] = value.replace(/\s+$/, "");
  });
  return out;
}

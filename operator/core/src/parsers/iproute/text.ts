/** Shared helpers for iproute2's text output: lines, tokens, addresses and prefixes. */
import { ParseError } from "../errors.js";

export interface TextLine {
  /** 1-based line number in the input. */
  no: number;
  text: string;
}

/** Non-blank lines with their numbers; trailing blanks (old iproute2 prints them) removed. */
export function textLines(text: string): TextLine[] {
  const out: TextLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.replace(/\s+$/, "");
    if (t.trim() !== "") out.push({ no: i + 1, text: t });
  });
  return out;
}

/** Split on any run of blanks (old iproute2 used double spaces and tabs). */
export function tokens(line: string): string[] {
  return line
    .trim()
    .split(/\s+/)
    .filter((t) => t !== "");
}

/** A cursor over the tokens of one line, failing with the line's number. */
export class Tokens {
  i = 0;
  constructor(
    readonly toks: string[],
    readonly source: string,
    readonly line: TextLine,
  ) {}

  get done(): boolean {
    return this.i >= this.toks.length;
  }

  peek(): string | undefined {
    return this.toks[this.i];
  }

  next(): string | undefined {
    return this.toks[this.i++];
  }

  fail(detail: string): never {
    throw new ParseError(this.source, this.line.no, detail, this.line.text);
  }

  /** The value after a keyword; missing value means the line was cut short. */
  value(keyword: string): string {
    const v = this.next();
    if (v === undefined) this.fail(`"${keyword}" without a value (truncated line?)`);
    return v;
  }

  int(keyword: string): number {
    const v = this.value(keyword);
    const n = parseIntStrict(v);
    if (n === undefined) this.fail(`"${keyword}" expects a number, got "${v}"`);
    return n;
  }
}

/** Decimal or 0x-hex integer, or undefined. */
export function parseIntStrict(v: string): number | undefined {
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10);
  if (/^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v, 16);
  return undefined;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

export function isIpv6(s: string): boolean {
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  if ((s.match(/::/g) ?? []).length > 1) return false;
  const groups = s.split(":");
  return groups.length >= 3 && groups.length <= 8 && groups.every((g) => g.length <= 4 || isIpv4(g));
}

export function isIp(s: string): boolean {
  return isIpv4(s) || isIpv6(s);
}

export function familyOf(addr: string): 4 | 6 {
  return addr.includes(":") ? 6 : 4;
}

/**
 * A destination/prefix with its length, as the model keeps it: "default" becomes 0.0.0.0/0 (::/0
 * for IPv6) and a host address gets /32 (/128). Returns undefined when `s` is not an address.
 */
export function normalizePrefix(s: string, family: 4 | 6): string | undefined {
  if (s === "default" || s === "all") return family === 6 ? "::/0" : "0.0.0.0/0";
  const [addr, len, extra] = s.split("/");
  if (addr === undefined || extra !== undefined || !isIp(addr)) return undefined;
  const max = familyOf(addr) === 6 ? 128 : 32;
  if (len === undefined) return `${addr}/${max}`;
  if (!/^\d+$/.test(len) || Number(len) > max) return undefined;
  return `${addr}/${len}`;
}

/** The inverse, as iproute2 prints it: /0 is "default", host routes have no length. */
export function displayPrefix(prefix: string): string {
  const [addr, len] = prefix.split("/");
  if (addr === undefined) return prefix;
  if (len === "0" && (addr === "0.0.0.0" || addr === "::")) return "default";
  const max = familyOf(addr) === 6 ? "128" : "32";
  return len === undefined || len === max ? addr : prefix;
}

const MAC = /^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i;

export function isMac(s: string): boolean {
  return MAC.test(s);
}

/**
 * Splits one iptables rule line into arguments with iptables-restore's own quoting rules
 * (xshared.c add_param_to_argv): blanks separate arguments, a double quote opens and closes a
 * quoted run (which may sit inside an argument: `a"b c"d` is `ab cd`), inside quotes a backslash
 * escapes the next character (`\"`, `\\`, iptables-save's `\'`), outside quotes it is literal.
 */

export interface IptablesToken {
  value: string;
  /** Whether any part of the argument was quoted: a quoted argument is never an option name. */
  quoted: boolean;
  /** Offset of the argument's first character in the input. */
  start: number;
}

/** Thrown (and wrapped in a ParseError with the line by the caller) when a quote is never closed. */
export class IptablesTokenizeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "IptablesTokenizeError";
  }
}

const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;

/** Tokenize `text` from `start` to `end` (default: the whole string). */
export function tokenizeIptables(text: string, start = 0, end = text.length): IptablesToken[] {
  const out: IptablesToken[] = [];
  let i = start;
  while (i < end) {
    let c = text.charCodeAt(i);
    if (c === SPACE || c === TAB || c === 13) {
      i++;
      continue;
    }
    const tokStart = i;
    let value = "";
    let quoted = false;
    let runStart = i;
    while (i < end) {
      c = text.charCodeAt(i);
      if (c === SPACE || c === TAB || c === 13) break;
      if (c !== QUOTE) {
        i++;
        continue;
      }
      // A quoted run: flush what came before it, then copy with escapes until the closing quote.
      value += text.slice(runStart, i);
      quoted = true;
      const open = i;
      i++;
      let closed = false;
      // Copy whole runs between escapes with one slice: no per-character string building.
      let piece = i;
      while (i < end) {
        c = text.charCodeAt(i);
        if (c === BACKSLASH && i + 1 < end) {
          value += text.slice(piece, i);
          piece = i + 1; // the escaped character starts the next run
          i += 2;
          continue;
        }
        if (c === QUOTE) {
          value += text.slice(piece, i);
          closed = true;
          i++;
          break;
        }
        i++;
      }
      if (!closed) {
        throw new IptablesTokenizeError(
          `unterminated double quote opened at column ${open - start + 1} (a truncated or hand-edited rule?)`,
          open,
        );
      }
      runStart = i;
    }
    value += text.slice(runStart, i);
    out.push({ value, quoted, start: tokStart });
  }
  return out;
}

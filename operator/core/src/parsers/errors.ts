/**
 * Every parser fails loudly: malformed or truncated input throws a ParseError that names the
 * source and the line, never a silent partial model.
 */
export class ParseError extends Error {
  constructor(
    /** The command whose output was being parsed, e.g. "iptables-save". */
    readonly source: string,
    /** 1-based line (for JSON input, the line of the document; usually 1). */
    readonly line: number | undefined,
    readonly detail: string,
    readonly excerpt?: string,
  ) {
    super(
      `${source}: ${line !== undefined ? `line ${line}: ` : ""}${detail}${excerpt !== undefined ? `\n  > ${excerpt.slice(0, 200)}` : ""}`,
    );
    this.name = "ParseError";
  }
}

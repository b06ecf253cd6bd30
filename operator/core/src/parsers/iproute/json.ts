/**
 * Strict reading of the JSON that `ip -j` / `bridge -j` print: a top-level array of objects.
 * Every failure is a ParseError naming the source and the line (also inside pretty `-p` output).
 */
import type { Json, JsonObject } from "../../model/json.js";
import { ParseError } from "../errors.js";

/** One element of the top-level array, with where it starts in the document. */
export interface JsonElement {
  obj: JsonObject;
  index: number;
  line: number;
}

/**
 * Parse `ip -j` output into its array elements. Empty output is an error unless `allowEmpty`
 * (`ip -j netns list-id` prints nothing when there are no peers on some versions).
 */
export function parseJsonArray(text: string, source: string, allowEmpty = false): JsonElement[] {
  if (text.trim() === "") {
    if (allowEmpty) return [];
    throw new ParseError(source, 1, "empty output, expected a JSON array");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // A document cut short fails at its end: name the last line that has content.
    const offset = Math.min(jsonErrorOffset(text), text.trimEnd().length);
    const line = lineAt(text, offset);
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ParseError(source, line, `truncated or invalid JSON (${msg})`, lineText(text, line));
  }
  if (!Array.isArray(doc)) {
    throw new ParseError(source, 1, "expected a JSON array at the top level", text.slice(0, 80));
  }
  const lines = elementLines(text);
  return doc.map((el: unknown, index: number) => {
    const line = lines[index] ?? 1;
    if (!isObject(el)) {
      throw new ParseError(source, line, `element ${index}: expected an object`, JSON.stringify(el));
    }
    return { obj: el, index, line };
  });
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Typed access to the fields of one element; a present field of the wrong type is an error. */
export class Fields {
  constructor(
    readonly el: JsonElement,
    readonly source: string,
  ) {}

  fail(detail: string): never {
    throw new ParseError(
      this.source,
      this.el.line,
      `element ${this.el.index}: ${detail}`,
      JSON.stringify(this.el.obj).slice(0, 200),
    );
  }

  private raw(obj: JsonObject, key: string): Json | undefined {
    return Object.hasOwn(obj, key) ? obj[key] : undefined;
  }

  has(key: string, obj: JsonObject = this.el.obj): boolean {
    return Object.hasOwn(obj, key);
  }

  str(key: string, obj: JsonObject = this.el.obj): string | undefined {
    const v = this.raw(obj, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(`field "${key}" should be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  num(key: string, obj: JsonObject = this.el.obj): number | undefined {
    const v = this.raw(obj, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number") this.fail(`field "${key}" should be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** JSON booleans; iproute2 also prints some flags as 0/1 numbers. */
  bool(key: string, obj: JsonObject = this.el.obj): boolean | undefined {
    const v = this.raw(obj, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0;
    return this.fail(`field "${key}" should be a boolean, got ${JSON.stringify(v)}`);
  }

  obj(key: string, obj: JsonObject = this.el.obj): JsonObject | undefined {
    const v = this.raw(obj, key);
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.fail(`field "${key}" should be an object`);
    return v;
  }

  arr(key: string, obj: JsonObject = this.el.obj): Json[] | undefined {
    const v = this.raw(obj, key);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.fail(`field "${key}" should be an array`);
    return v;
  }

  strings(key: string, obj: JsonObject = this.el.obj): string[] {
    const a = this.arr(key, obj) ?? [];
    return a.map((v) => {
      if (typeof v !== "string") this.fail(`field "${key}" should hold strings, got ${JSON.stringify(v)}`);
      return v;
    });
  }

  reqStr(key: string, obj: JsonObject = this.el.obj): string {
    const v = this.str(key, obj);
    if (v === undefined) this.fail(`missing required field "${key}"`);
    return v;
  }

  reqNum(key: string, obj: JsonObject = this.el.obj): number {
    const v = this.num(key, obj);
    if (v === undefined) this.fail(`missing required field "${key}"`);
    return v;
  }
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function lineText(text: string, line: number): string {
  return text.split("\n")[line - 1] ?? "";
}

/** Line on which each element of the top-level array starts. */
function elementLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let inStr = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') {
      if (depth === 1) out.push(line);
      inStr = true;
    } else if (c === "{" || c === "[") {
      if (depth === 1) out.push(line);
      depth++;
    } else if (c === "}" || c === "]") depth--;
    else if (depth === 1 && c !== undefined && /[-0-9tfn]/.test(c)) {
      out.push(line);
      while (i + 1 < text.length && /[-+.0-9a-zA-Z]/.test(text[i + 1] ?? "")) i++;
    }
  }
  return out;
}

/**
 * Offset of the first syntax error in a JSON document (the end of input when it is truncated).
 * Only called after JSON.parse failed, to name the line.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] ?? "")) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') string();
    else {
      const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
      if (!m) fail();
      i += m?.[0].length ?? 0;
    }
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text[i] === "\n") fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    return Math.min(i, text.length);
  } catch (pos) {
    return typeof pos === "number" ? pos : text.length;
  }
}

/**
 * One pass over `nft -j` text that finds the top-level elements of the `"nftables"` array without
 * decoding them: for each, where it starts and ends and what kind it is (`rule`, `chain`, …). The
 * lazy parser (parse.ts) decodes an element only when its chain or set is asked for.
 */
import { IntVec } from "../iptables/int-vec.js";

/** The top-level elements of a document, as offsets into its text. */
export interface NftElementIndex {
  /** Offset of each element's `{` and one past its `}`. */
  start: IntVec;
  end: IntVec;
  /** Each element's kind (its sole key), interned. */
  kind: string[];
}

/** Where the scan stopped making sense: the offset, for a line number. */
export class NftScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** Index past the closing quote of the string whose opening quote is at `i`. */
function skipString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) throw new NftScanError("unterminated string", text.length);
    let slashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** The key of the one-key object starting at `start` (`{"rule": …` → `rule`). */
function kindAt(text: string, start: number): string {
  if (text.charCodeAt(start) !== OPEN_BRACE) return "?";
  const q = text.indexOf('"', start);
  const e = q < 0 ? -1 : text.indexOf('"', q + 1);
  return q < 0 || e < 0 ? "?" : text.slice(q + 1, e);
}

/**
 * Indexes the elements of the top-level `"nftables"` array. Only brackets, braces and strings are
 * looked at; a syntax error inside an element is found when that element is decoded.
 */
export function scanNftElements(text: string): NftElementIndex {
  const key = text.indexOf('"nftables"');
  const open = key < 0 ? -1 : text.indexOf("[", key);
  if (open < 0) throw new NftScanError('expected an object {"nftables": [...]}', 0);
  const index: NftElementIndex = { start: new IntVec(1024), end: new IntVec(1024), kind: [] };
  const kinds = new Map<string, string>();
  let depth = 0;
  let elementStart = -1;
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(text, i) - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === 0) elementStart = i;
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) {
        if (c !== CLOSE_BRACKET) throw new NftScanError("unbalanced '}'", i);
        return index;
      }
      depth--;
      if (depth === 0) {
        index.start.push(elementStart);
        index.end.push(i + 1);
        const k = kindAt(text, elementStart);
        let interned = kinds.get(k);
        if (interned === undefined) {
          interned = k;
          kinds.set(k, k);
        }
        index.kind.push(interned);
      }
    }
  }
  throw new NftScanError("truncated: the nftables list is not closed", text.length);
}

/**
 * The same index built from bytes fed in chunks (a file read piece by piece, so the document never
 * sits in memory whole). Offsets are byte offsets. JSON's structure is ASCII, so bytes suffice.
 */
export class NftChunkScanner {
  private readonly index: NftElementIndex = { start: new IntVec(1024), end: new IntVec(1024), kind: [] };
  private readonly kinds = new Map<string, string>();
  /** Bytes of "nftables" key search: 0 before the array opens, 1 inside it, 2 after it closed. */
  private phase = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private elementStart = -1;
  /** Kind capture: 0 idle, 1 waiting for the key's opening quote, 2 inside the key. */
  private kindState = 0;
  private kindChars: number[] = [];
  private offset = 0;
  /** Whether `"nftables"` was seen before the first `[` (kept simple: any string before it). */
  private sawKey = false;

  /** Feeds the next chunk of the document. */
  feed(chunk: Uint8Array): void {
    const base = this.offset;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (this.phase === 2) break;
      if (this.inString) {
        if (this.kindState === 2) {
          if (c === QUOTE && !this.escaped) this.endKind();
          else this.kindChars.push(c);
        }
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.phase === 0) this.sawKey = true;
        if (this.kindState === 1) this.kindState = 2;
        continue;
      }
      if (this.phase === 0) {
        if (c === OPEN_BRACKET && this.sawKey) this.phase = 1;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (this.depth === 0) {
          this.elementStart = base + i;
          this.kindState = c === OPEN_BRACE ? 1 : 0;
          this.kindChars = [];
        }
        this.depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.depth === 0) {
          if (c !== CLOSE_BRACKET) throw new NftScanError("unbalanced '}'", base + i);
          this.phase = 2;
          break;
        }
        this.depth--;
        if (this.depth === 0) {
          this.index.start.push(this.elementStart);
          this.index.end.push(base + i + 1);
          if (this.kindState !== 0) this.endKind();
          this.index.kind.push(this.pendingKind);
          this.pendingKind = "?";
        }
      }
    }
    this.offset += chunk.length;
  }

  private pendingKind = "?";

  private endKind(): void {
    const k = String.fromCharCode(...this.kindChars);
    let interned = this.kinds.get(k);
    if (interned === undefined) {
      interned = k;
      this.kinds.set(k, k);
    }
    if (this.kindState === 2) this.pendingKind = interned;
    this.kindState = 0;
  }

  /** The index, once every chunk was fed; throws on a document that is not a closed nftables list. */
  finish(): NftElementIndex {
    if (this.phase === 0) throw new NftScanError('expected an object {"nftables": [...]}', 0);
    if (this.phase === 1) throw new NftScanError("truncated: the nftables list is not closed", this.offset);
    return this.index;
  }
}

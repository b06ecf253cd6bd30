/**
 * Helpers for the tests next to the parsers and the engine (not part of the package's build).
 */
import { readFileSync } from "node:fs";
import { ParseError } from "./parsers/errors.js";

/** Reads files from the `testdata/` folder beside the calling test: `const fixture = fixtureReader(import.meta.url)`. */
export function fixtureReader(testUrl: string): (name: string) => string {
  return (name) => readFileSync(new URL(`./testdata/${name}`, testUrl), "utf8");
}

/** Runs `fn`, which must throw a ParseError, and returns it (so a test can check its line and text). */
export function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error("expected a ParseError");
}

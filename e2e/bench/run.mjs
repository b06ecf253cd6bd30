// `npm run bench`: runs the compiled benchmark (e2e/bench/run.ts → e2e/dist/bench/run.js).
import { existsSync } from "node:fs";

const compiled = new URL("../dist/bench/run.js", import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write("e2e/dist/bench/run.js is missing: run `npx tsc -b` first\n");
  process.exit(1);
}
await import(compiled.href);

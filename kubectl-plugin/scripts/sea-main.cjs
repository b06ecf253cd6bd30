// Entry of the single-executable kubectl-netmap (Node SEA). Node 24's SEA runs a CommonJS main
// only, and the bundle is ESM (ink and yoga use top-level await), so this writes the embedded bundle
// once to a private directory named by its content hash and imports it from there.
const { getAsset } = require("node:sea");
const { createHash } = require("node:crypto");
const { existsSync, mkdirSync, renameSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

const code = getAsset("kubectl-netmap.mjs", "utf8");
const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
const dir = join(tmpdir(), `kubectl-netmap-${process.getuid?.() ?? "u"}-${hash}`);
const file = join(dir, "kubectl-netmap.mjs");
if (!existsSync(file)) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, code, { mode: 0o600 });
  renameSync(partial, file);
}
import(pathToFileURL(file).href).catch((e) => {
  process.stderr.write(`kubectl-netmap: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});

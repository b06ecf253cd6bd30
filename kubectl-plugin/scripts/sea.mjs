#!/usr/bin/env node
/**
 * Node single-executable build of kubectl-netmap: dist/sea/kubectl-netmap, one file that needs no
 * Node.js on the target (it is this Node binary with the bundle injected). Run after
 * `npm run build` and `npm run bundle` (this script runs the bundle step itself).
 *
 *   npm run sea -w kubectl-netmap
 *
 * The executable embeds dist/bundle/kubectl-netmap.mjs as an asset; scripts/sea-main.cjs starts it
 * (see there why it is extracted to a content-addressed private temp file first).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/sea");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

run(process.execPath, [join(root, "scripts/bundle.mjs")]);
mkdirSync(out, { recursive: true });
const config = join(out, "sea-config.json");
const blob = join(out, "sea-prep.blob");
writeFileSync(
  config,
  JSON.stringify({
    main: join(root, "scripts/sea-main.cjs"),
    output: blob,
    disableExperimentalSEAWarning: true,
    assets: { "kubectl-netmap.mjs": join(root, "dist/bundle/kubectl-netmap.mjs") },
  }),
);
run(process.execPath, ["--experimental-sea-config", config]);
const exe = join(out, "kubectl-netmap");
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
run(process.execPath, [
  join(root, "../node_modules/postject/dist/cli.js"),
  exe,
  "NODE_SEA_BLOB",
  blob,
  "--sentinel-fuse",
  "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
]);
process.stderr.write(`wrote ${exe} (Node ${process.version} with kubectl-netmap inside)\n`);

#!/usr/bin/env node
/**
 * Single-file build of kubectl-netmap: dist/main.js and everything it imports (commander, yaml,
 * ink, react, @netmap/core, @netmap/probe) in one ESM file, dist/bundle/kubectl-netmap.mjs, with a
 * node shebang, so users need not install the workspace. Run after `tsc -b`.
 *
 * Uses esbuild when it is installed; otherwise rolldown (present in node_modules through vite).
 * Neither is a dependency of this package: this script adds none.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const entry = join(root, "bin/kubectl-netmap.js");
const outDir = join(root, "dist/bundle");
const outFile = join(outDir, "kubectl-netmap.mjs");
const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
const banner = [
  `globalThis.__NETMAP_PLUGIN_VERSION__ = ${JSON.stringify(pkg.version)};`,
  // Bundled CommonJS (react, yoga) may call require(); give it one.
  'import { createRequire as __netmapCreateRequire } from "node:module";',
  "const require = __netmapCreateRequire(import.meta.url);",
].join("\n");
// Only needed by ink in development mode (React DevTools): replaced by an empty module, since a
// single file inlines ink's lazy import of it.
const STUBBED = "react-devtools-core";
const STUB = "\0netmap-empty";
const stubPlugin = {
  name: "netmap-stub-devtools",
  resolveId: (id) => (id === STUBBED ? STUB : null),
  load: (id) => (id === STUB ? "export default { initialize() {}, connectToDevTools() {} };" : null),
};
const esbuildStub = {
  name: "netmap-stub-devtools",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({
      path: STUBBED,
      namespace: "netmap-empty",
    }));
    build.onLoad({ filter: /.*/, namespace: "netmap-empty" }, () => ({
      contents: "export default { initialize() {}, connectToDevTools() {} };",
    }));
  },
};

const require = createRequire(import.meta.url);
function tryResolve(name) {
  try {
    return require.resolve(name, { paths: [root] });
  } catch {
    return undefined;
  }
}

await mkdir(outDir, { recursive: true });
if (tryResolve("esbuild")) {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    banner: { js: banner },
    plugins: [esbuildStub],
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
  console.error(`esbuild: wrote ${outFile}`);
} else if (tryResolve("rolldown")) {
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({
    input: entry,
    platform: "node",
    plugins: [stubPlugin],
    transform: { define: { "process.env.NODE_ENV": '"production"' } },
    logLevel: "warn",
  });
  await bundle.write({ file: outFile, format: "esm", banner, codeSplitting: false });
  await bundle.close();
  console.error(`rolldown (esbuild is not installed): wrote ${outFile}`);
} else {
  console.error("neither esbuild nor rolldown is installed; add esbuild as a devDependency to bundle");
  process.exit(1);
}
// Exactly one shebang, on the first line, whatever the bundler did with the entry's.
const text = (await readFile(outFile, "utf8")).replace(/^#!.*\n/gm, "");
await writeFile(outFile, `#!/usr/bin/env node\n${text}`);
await chmod(outFile, 0o755);

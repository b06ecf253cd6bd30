#!/usr/bin/env node
// kubectl's plugin completion hook (kubectl ≥ 1.26 runs `kubectl_complete-<plugin> <words…>` for
// `kubectl netmap <TAB>`): answer from the same command tree as `kubectl-netmap __complete`.
import { main } from "../dist/main.js";

process.exitCode = await main([
  process.argv[0] ?? "node",
  process.argv[1] ?? "kubectl-netmap",
  "__complete",
  ...process.argv.slice(2),
]);

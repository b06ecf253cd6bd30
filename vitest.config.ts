import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const alias = {
  "@netmap/core": src("./operator/core/src/index.ts"),
  "@netmap/api": src("./operator/api/src/index.ts"),
  // Before "@netmap/probe", which would otherwise take its subpaths too.
  "@netmap/probe/kube": src("./operator/probe/src/kube/index.ts"),
  "@netmap/probe": src("./operator/probe/src/index.ts"),
  "@netmap/operator": src("./operator/controller/src/index.ts"),
};

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: [
            "operator/**/src/**/*.test.{ts,tsx}",
            "kubectl-plugin/src/**/*.test.{ts,tsx}",
            "e2e/kube-proxy/**/*.test.ts",
            "e2e/golden/**/*.test.ts",
          ],
          exclude: ["**/*.lab.test.ts", "**/*.cp.test.ts", "**/node_modules/**", "**/dist/**"],
        },
      },
      {
        resolve: { alias },
        test: {
          // Kernel lab: real namespaces, veths, bridges, VXLAN and netfilter. Needs root.
          name: "lab",
          include: ["e2e/**/*.lab.test.ts", "kubectl-plugin/**/*.lab.test.ts"],
          // Installs the lab's missing Debian packages first (as root), as `npm run demo` does.
          globalSetup: ["e2e/lab/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // A real kube-apiserver + etcd (e2e/control-plane), built from their Go modules by the global
          // setup (cold ~8 min, cached after). No root needed.
          name: "control-plane",
          include: ["e2e/**/*.cp.test.ts", "operator/**/*.cp.test.ts", "kubectl-plugin/src/**/*.cp.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          globalSetup: ["e2e/control-plane/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      // kind e2e (e2e/kind): real clusters, minutes to create. Only `npm run e2e:kind` runs them
      // (NETMAP_E2E_KIND=1); `npm test` and a bare `vitest run` leave them out.
      ...(process.env.NETMAP_E2E_KIND
        ? [
            {
              resolve: { alias },
              test: {
                name: "kind",
                include: ["e2e/kind/**/*.kind.test.ts"],
                fileParallelism: false,
                testTimeout: 300_000,
                hookTimeout: 1_800_000,
              },
            },
          ]
        : []),
    ],
  },
});

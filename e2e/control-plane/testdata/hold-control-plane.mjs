// Stands in for a test runner: starts a control plane from the harness's TypeScript sources, prints
// {"dir","url"} on one line, then holds it until this process is killed. The cleanup tests kill it
// with SIGTERM, SIGINT or SIGKILL and check that etcd and kube-apiserver went with it.
import { register } from "node:module";

register("./ts-resolve.mjs", import.meta.url);
const { startControlPlane } = await import("../index.ts");
const tools = process.env.NETMAP_TOOLS_JSON ? JSON.parse(process.env.NETMAP_TOOLS_JSON) : undefined;
const cp = await startControlPlane(tools ? { tools } : {});
process.stdout.write(`${JSON.stringify({ dir: cp.dir, url: cp.url })}\n`);
setInterval(() => {}, 60_000);

/** `kubectl netmap pod <pod-ip|name> --snapshots <dir>`: the wiring of one pod. */
import type { Command } from "commander";
import { UsageError } from "../cli/errors.js";
import type { Io } from "../cli/io.js";
import { kubeFlags } from "../cli/kube-flags.js";
import { outputOption, POD_OUTPUTS, type PodOutput } from "../cli/options.js";
import { renderJson, renderYaml } from "../render/data.js";
import { loadEngine, type TraceEngine } from "../source/engine.js";
import { type OfflineDeps, readSnapshots } from "../source/offline.js";
import { resolveEndpointArg } from "../source/resolve.js";

const EXAMPLES = `
Examples:
  kubectl netmap pod 10.244.1.3 --snapshots ./snap
  kubectl netmap pod default/pod-b --snapshots ./snap -o yaml`;

/** Registers `pod`. */
export function registerPod(program: Command, io: Io, deps: OfflineDeps = {}): Command {
  return program
    .command("pod")
    .description("show how one pod is wired: netns, eth0, veth peer, bridge port or host route, tunnels")
    .argument("<pod>", "pod IP, name, namespace/name or netns name")
    .requiredOption("--snapshots <dir>", "directory written by `kubectl netmap snapshot`")
    .addOption(outputOption(POD_OUTPUTS, "text"))
    .addHelpText("after", EXAMPLES)
    .action(async (arg: string, opts: { snapshots: string; output?: PodOutput }, cmd: Command) => {
      const captures = await readSnapshots(opts.snapshots, deps.probe);
      const ns = kubeFlags(cmd, io.env).namespace;
      const target = resolveEndpointArg(arg, "source", captures, ns !== undefined ? { namespace: ns } : {});
      const pod = target.pod;
      const capture = captures.find((c) => c.manifest.node === pod?.node);
      if (!pod || !capture) throw new UsageError(`${arg} is not a pod in the snapshots`);
      const { podWiring, renderPodText } = await import("../render/pod-wiring.js");
      const engine: TraceEngine = await (deps.engine ?? loadEngine)();
      const wiring = podWiring(engine.assembleNodeState(capture), pod.netns);
      if (!wiring) throw new UsageError(`netns ${pod.netns} is missing from ${pod.node}'s state`);
      const out = opts.output ?? "text";
      io.stdout.write(
        out === "json" ? renderJson(wiring) : out === "yaml" ? renderYaml(wiring) : renderPodText(wiring),
      );
    });
}

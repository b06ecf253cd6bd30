/**
 * Wire a pod the way a container runtime does: run the CNI `loopback` plugin, then each plugin of
 * the node's conflist (`bridge` with `host-local` IPAM here; `ptp` in kindnet.ts), with CNI_* in the
 * environment and the plugin config on stdin, inside the node's netns. The result (veth, MACs, IP)
 * is the plugin's.
 */
import { createHash } from "node:crypto";
import { inNetns, LabError, netnsPath, run } from "./exec.js";

export const CNI_PATH = "/usr/lib/cni";
export const CNI_VERSION = "1.0.0";
export const CNI_NETWORK = "cbr0";

export interface ConflistOptions {
  podCidr: string;
  mtu: number;
  ipamDataDir: string;
}

/** The node's conflist, as it would sit in /etc/cni/net.d/10-cbr0.conflist. */
export function conflist(o: ConflistOptions): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: CNI_NETWORK,
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        mtu: o.mtu,
        ipam: {
          type: "host-local",
          dataDir: o.ipamDataDir,
          ranges: [[{ subnet: o.podCidr }]],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
    ],
  };
}

/** What the bridge plugin reported for one pod. */
export interface CniResult {
  /** Host-side veth (in the node netns). */
  hostVeth: string;
  hostVethMac: string;
  /** The pod's eth0 MAC. */
  mac: string;
  /** The pod's address, without prefix length. */
  ip: string;
  /** The pod's address with prefix length, as the plugin returned it. */
  cidr: string;
  gateway?: string;
  bridgeMac?: string;
  raw: unknown;
}

export interface PodIdentity {
  node: string;
  netns: string;
  namespace: string;
  name: string;
}

function containerId(netns: string): string {
  return createHash("sha256").update(netns).digest("hex");
}

function cniEnv(command: string, pod: PodIdentity): Record<string, string> {
  const id = containerId(pod.netns);
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: netnsPath(pod.netns),
    CNI_IFNAME: "eth0",
    CNI_PATH,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${id}`,
  };
}

async function invoke(plugin: string, config: Record<string, unknown>, pod: PodIdentity): Promise<unknown> {
  const argv = inNetns(pod.node, [`${CNI_PATH}/${plugin}`]);
  const r = await run(argv, { input: JSON.stringify(config), env: cniEnv("ADD", pod), timeoutMs: 30_000 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0 || parsed === undefined) {
    throw new LabError(
      `CNI ${plugin} ADD for ${pod.netns} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stdout.trim()} ${r.stderr.trim()}`,
    );
  }
  return parsed;
}

interface CniInterface {
  name?: string;
  mac?: string;
  sandbox?: string;
}

interface CniIp {
  interface?: number;
  address?: string;
  gateway?: string;
}

function asArray<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/** Extracts veth, MACs and address from a CNI 1.0 result of the bridge (or ptp: no bridge) plugin. */
export function parseBridgeResult(raw: unknown, bridge = "cni0"): CniResult {
  const o = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const ifs = asArray<CniInterface>(o.interfaces);
  const ips = asArray<CniIp>(o.ips);
  const podIfIndex = ifs.findIndex((i) => i.sandbox !== undefined && i.sandbox !== "");
  const podIf = ifs[podIfIndex];
  const hostIf = ifs.find((i) => !i.sandbox && i.name !== bridge);
  const bridgeIf = ifs.find((i) => !i.sandbox && i.name === bridge);
  const ip = ips.find((i) => i.interface === podIfIndex) ?? ips[0];
  if (!podIf?.mac || !hostIf?.name || !hostIf.mac || !ip?.address) {
    throw new LabError(`unexpected CNI bridge result: ${JSON.stringify(raw)}`);
  }
  const result: CniResult = {
    hostVeth: hostIf.name,
    hostVethMac: hostIf.mac,
    mac: podIf.mac,
    ip: ip.address.split("/")[0] ?? ip.address,
    cidr: ip.address,
    raw,
  };
  if (ip.gateway) result.gateway = ip.gateway;
  if (bridgeIf?.mac) result.bridgeMac = bridgeIf.mac;
  return result;
}

/**
 * Runs loopback then every plugin of `list` for `pod`, injecting `name` and `cniVersion` into each
 * plugin config (and `prevResult` for chained ones) as libcni does. Returns the bridge result.
 */
export async function cniAdd(list: Record<string, unknown>, pod: PodIdentity): Promise<CniResult> {
  await invoke("loopback", { cniVersion: CNI_VERSION, name: "cni-loopback", type: "loopback" }, pod);
  let prev: unknown;
  for (const plugin of asArray<Record<string, unknown>>(list.plugins)) {
    const type = plugin.type;
    if (typeof type !== "string" || !/^[a-z0-9-]+$/.test(type))
      throw new LabError(`bad plugin type ${String(type)}`);
    const config: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    if (prev !== undefined) config.prevResult = prev;
    prev = await invoke(type, config, pod);
  }
  return parseBridgeResult(prev);
}

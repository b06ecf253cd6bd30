/**
 * The kernel lab: a small Kubernetes-shaped cluster made of network namespaces, wired by the real
 * CNI bridge plugin, with flannel-style VXLAN (or host-gw) between nodes; or kind's default
 * network, kindnet: the real CNI ptp plugin, routes via the node addresses, kindnetd's masquerade.
 *
 *   nm-<name>-ul          underlay: bridge ul0, one veth port per node
 *   nm-<name>-n<i>        node i: eth0 (172.31.<labid>.<i>/24), cni0 and flannel.1 (bridge), pod veths
 *   nm-<name>-n<i>-p<j>   pod j on node i: eth0 from the CNI plugin, 10.244.<i>.0/24
 *
 * Hermetic: no node netns has a default route, nothing is added to the root netns, and the traffic
 * helpers only send to lab addresses. Everything lives under the `nm-<name>-` prefix and is
 * removed by destroy() (also on exit/SIGINT/SIGTERM).
 */

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cidrContains } from "@netmap/core";
import { checkLabName, destroyLab, labPrefix, labTmpDir, lockLab, registerForCleanup } from "./cleanup.js";
import { CNI_VERSION, type CniResult, cniAdd, conflist } from "./cni.js";
import { inNetns, LabError, type RunOptions, type RunResult, run, runOk } from "./exec.js";
import { installKindnetMasq, KINDNET_CONFLIST, kindnetConflist, kindnetRoute } from "./kindnet.js";
import { createVtep, hostGwPeer, type OverlayNode, VXLAN_MTU, vxlanPeer } from "./overlay.js";
import {
  type LinkCounters,
  linkCounters,
  type PingOptions,
  pingFrom,
  type TcpProbeResult,
  tcpProbeFrom,
  tcpProbeServers,
} from "./traffic.js";

export interface LabOptions {
  /** 1–12 lowercase letters/digits; every netns is named `nm-<name>-…`. */
  name: string;
  nodes: number;
  podsPerNode: number;
  overlay: "vxlan" | "host-gw";
  /**
   * How pods are wired: "bridge" (default: the CNI bridge plugin on cni0, flannel's conflist) or
   * "kindnet" (kind's default network: the CNI ptp plugin, kindnetd's routes and masquerade rules;
   * needs overlay "host-gw", which is how kindnetd routes between nodes).
   */
  cni?: "bridge" | "kindnet";
  /** Pod (and cni0) MTU; default 1450 for vxlan, 1500 for host-gw. */
  podMtu?: number;
  /** Keep IPv6 on (default off: no router solicitations / MLD moving the counters). */
  ipv6?: boolean;
}

export interface LabNode {
  index: number;
  /** Node name, as a snapshot records it. */
  name: string;
  netns: string;
  underlayIp: string;
  podCidr: string;
  /** flannel.1 MAC (vxlan labs only). */
  vtepMac?: string;
  /** The conflist the pods of this node were wired from. */
  conflistPath: string;
  /** Whether net.bridge.bridge-nf-call-iptables exists in this node netns (and was set to 1). */
  bridgeNfCallIptables: boolean;
}

export interface LabPod {
  /** Node name (LabNode.name). */
  node: string;
  nodeNetns: string;
  netns: string;
  name: string;
  namespace: string;
  ip: string;
  /** Host-side veth in the node netns, named by the CNI plugin. */
  hostVeth: string;
  /** The pod's eth0 MAC. */
  mac: string;
  cni: CniResult;
}

export interface TcpProbeOptions {
  connections: number;
  /** Pod whose netns runs the server; default: the pod that owns `toIp`. */
  serverPod?: LabPod;
  /**
   * Pods that each run a server at once, answering with their own IP (a Service's endpoints, so
   * `answeredBy` tells which endpoint each connection reached). `[]` runs no server at all.
   */
  serverPods?: readonly LabPod[];
  /** The port the servers listen on, when it differs from the one connected to (a Service's targetPort). */
  serverPort?: number;
}

export interface Lab {
  name: string;
  overlay: "vxlan" | "host-gw";
  cni: "bridge" | "kindnet";
  podMtu: number;
  tmpDir: string;
  underlayNetns: string;
  /** Lab id: the third octet of the underlay subnet 172.31.<labid>.0/24. */
  labId: number;
  nodes: LabNode[];
  pods: LabPod[];
  /** `modprobe br_netfilter` outcome ("ok" or the error). */
  brNetfilterModprobe: string;
  /** Runs argv inside one of the lab's netns (bounded). */
  exec(netns: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  linkCounters(netns: string): Promise<Map<string, LinkCounters>>;
  /** Bounded ping from a pod (object or netns name) to a lab address; returns replies received. */
  ping(fromPod: LabPod | string, toIp: string, opts: PingOptions): Promise<number>;
  tcpProbe(
    fromPod: LabPod | string,
    toIp: string,
    port: number,
    opts: TcpProbeOptions,
  ): Promise<TcpProbeResult>;
  setLinkDown(netns: string, dev: string): Promise<void>;
  setLinkUp(netns: string, dev: string): Promise<void>;
  setSysctl(netns: string, key: string, value: string): Promise<void>;
  setMtu(netns: string, dev: string, mtu: number): Promise<void>;
  deleteFdb(netns: string, mac: string, dev: string): Promise<void>;
  iptables(netns: string, args: readonly string[]): Promise<string>;
  /** A pod by name, netns or IP. */
  pod(key: string): LabPod;
  /** Deletes every `nm-<name>-` netns and the tmp dir. Idempotent. */
  destroy(): Promise<void>;
}

function labIdFor(name: string): number {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return 1 + (h % 250);
}

/** Addresses lab traffic may go to: pod CIDRs, the lab underlay, and a service range (DNAT'd in-lab). */
/** Pod addresses (10.244.<node>.0/24 each) and the Service range, which exists only as DNAT rules. */
export const CLUSTER_CIDR = "10.244.0.0/16";
export const SERVICE_CIDR = "10.96.0.0/12";

export function isLabAddress(ip: string, labId: number): boolean {
  return [CLUSTER_CIDR, `172.31.${labId}.0/24`, SERVICE_CIDR].some((cidr) => cidrContains(cidr, ip));
}

async function sysctlW(netns: string, key: string, value: string): Promise<void> {
  await runOk(inNetns(netns, ["sysctl", "-q", "-w", `${key}=${value}`]));
}

async function hasSysctl(netns: string, key: string): Promise<boolean> {
  return (await run(inNetns(netns, ["sysctl", "-n", key]))).code === 0;
}

async function addNetns(netns: string, ipv6: boolean): Promise<void> {
  await runOk(["ip", "netns", "add", netns]);
  await runOk(inNetns(netns, ["ip", "link", "set", "lo", "up"]));
  if (!ipv6) {
    await sysctlW(netns, "net.ipv6.conf.all.disable_ipv6", "1");
    await sysctlW(netns, "net.ipv6.conf.default.disable_ipv6", "1");
  }
}

async function build(opts: LabOptions, lab: Omit<Lab, keyof LabMethods>): Promise<void> {
  const { name } = opts;
  const ipv6 = opts.ipv6 ?? false;
  await mkdir(lab.tmpDir, { recursive: true, mode: 0o700 });
  await addNetns(lab.underlayNetns, ipv6);
  await runOk(inNetns(lab.underlayNetns, ["ip", "link", "add", "ul0", "type", "bridge"]));
  await runOk(inNetns(lab.underlayNetns, ["ip", "link", "set", "ul0", "up"]));

  const modprobe = await run(["modprobe", "br_netfilter"], { timeoutMs: 10_000 }).catch((e: Error) => ({
    code: -1,
    stderr: e.message,
    stdout: "",
    timedOut: false,
  }));
  lab.brNetfilterModprobe = modprobe.code === 0 ? "ok" : `failed: ${modprobe.stderr.trim()}`;

  for (let i = 1; i <= opts.nodes; i++) {
    const netns = `${labPrefix(name)}n${i}`;
    const node: LabNode = {
      index: i,
      name: `node-${i}`,
      netns,
      underlayIp: `172.31.${lab.labId}.${i}`,
      podCidr: `10.244.${i}.0/24`,
      conflistPath: join(
        lab.tmpDir,
        `node-${i}`,
        lab.cni === "kindnet" ? KINDNET_CONFLIST : "10-cbr0.conflist",
      ),
      bridgeNfCallIptables: false,
    };
    await addNetns(netns, ipv6);
    await runOk(
      inNetns(lab.underlayNetns, [
        "ip",
        "link",
        "add",
        `n${i}`,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        netns,
      ]),
    );
    await runOk(inNetns(lab.underlayNetns, ["ip", "link", "set", `n${i}`, "master", "ul0", "up"]));
    await runOk(inNetns(netns, ["ip", "addr", "add", `${node.underlayIp}/24`, "dev", "eth0"]));
    await runOk(inNetns(netns, ["ip", "link", "set", "eth0", "up"]));
    await sysctlW(netns, "net.ipv4.ip_forward", "1");
    if (await hasSysctl(netns, "net.bridge.bridge-nf-call-iptables")) {
      await sysctlW(netns, "net.bridge.bridge-nf-call-iptables", "1");
      node.bridgeNfCallIptables = true;
    }
    lab.nodes.push(node);
  }

  for (const node of lab.nodes) {
    const ipam = { podCidr: node.podCidr, mtu: lab.podMtu, ipamDataDir: join(lab.tmpDir, node.name, "ipam") };
    const list =
      lab.cni === "kindnet" ? kindnetConflist({ ...ipam, cniVersion: CNI_VERSION }) : conflist(ipam);
    await mkdir(join(lab.tmpDir, node.name), { recursive: true });
    await writeFile(node.conflistPath, `${JSON.stringify(list, null, 2)}\n`);
    for (let j = 1; j <= opts.podsPerNode; j++) {
      const netns = `${node.netns}-p${j}`;
      await addNetns(netns, ipv6);
      const identity = { node: node.netns, netns, namespace: "netmap-lab", name: `pod-${node.index}-${j}` };
      const cni = await cniAdd(list, identity);
      lab.pods.push({
        node: node.name,
        nodeNetns: node.netns,
        netns,
        name: identity.name,
        namespace: identity.namespace,
        ip: cni.ip,
        hostVeth: cni.hostVeth,
        mac: cni.mac,
        cni,
      });
    }
  }

  const overlayNodes: OverlayNode[] = lab.nodes.map((n) => ({
    index: n.index,
    netns: n.netns,
    underlayIp: n.underlayIp,
    podCidr: n.podCidr,
  }));
  if (lab.cni === "kindnet") {
    for (const local of lab.nodes) {
      for (const remote of lab.nodes) {
        if (remote.index !== local.index) await kindnetRoute(local.netns, remote.podCidr, remote.underlayIp);
      }
      await installKindnetMasq(local.netns, CLUSTER_CIDR);
    }
  } else if (opts.overlay === "vxlan") {
    for (const [k, n] of overlayNodes.entries()) {
      const node = lab.nodes[k];
      if (node) node.vtepMac = await createVtep(n);
    }
    for (const local of overlayNodes) {
      for (const [k, remote] of overlayNodes.entries()) {
        const mac = lab.nodes[k]?.vtepMac;
        if (remote.index !== local.index && mac) await vxlanPeer(local, remote, mac);
      }
    }
  } else {
    for (const local of overlayNodes) {
      for (const remote of overlayNodes) if (remote.index !== local.index) await hostGwPeer(local, remote);
    }
  }
}

type LabMethods = Pick<
  Lab,
  | "exec"
  | "linkCounters"
  | "ping"
  | "tcpProbe"
  | "setLinkDown"
  | "setLinkUp"
  | "setSysctl"
  | "setMtu"
  | "deleteFdb"
  | "iptables"
  | "pod"
  | "destroy"
>;

function methods(state: Omit<Lab, keyof LabMethods>): LabMethods {
  const own = (netns: string): string => {
    if (!netns.startsWith(labPrefix(state.name))) {
      throw new LabError(
        `netns ${netns} is not part of lab ${state.name}: the lab only touches nm-${state.name}-*`,
      );
    }
    return netns;
  };
  const guardIp = (ip: string): string => {
    if (!isLabAddress(ip, state.labId)) {
      throw new LabError(`${ip} is not a lab address: lab traffic stays between the lab's namespaces`);
    }
    return ip;
  };
  const findPod = (key: string): LabPod => {
    const p = state.pods.find((x) => x.name === key || x.netns === key || x.ip === key);
    if (!p) throw new LabError(`lab ${state.name} has no pod "${key}"`);
    return p;
  };
  const podNetns = (p: LabPod | string): string => own(typeof p === "string" ? p : p.netns);
  const ok = async (netns: string, argv: readonly string[]): Promise<string> =>
    runOk(inNetns(own(netns), argv));
  return {
    exec: async (netns, argv, opts) => run(inNetns(own(netns), argv), opts),
    linkCounters: async (netns) => linkCounters(own(netns)),
    ping: async (from, toIp, opts) => pingFrom(podNetns(from), guardIp(toIp), opts),
    tcpProbe: async (from, toIp, port, opts) => {
      if (opts.serverPods) {
        const servers = opts.serverPods.map((p) => ({ netns: own(p.netns), identity: p.ip }));
        return tcpProbeServers(
          state.name,
          podNetns(from),
          servers,
          guardIp(toIp),
          port,
          opts.connections,
          opts.serverPort ?? port,
        );
      }
      const server = opts.serverPod ?? findPod(guardIp(toIp));
      return tcpProbeFrom(state.name, podNetns(from), own(server.netns), toIp, port, opts.connections);
    },
    setLinkDown: async (netns, dev) => void (await ok(netns, ["ip", "link", "set", dev, "down"])),
    setLinkUp: async (netns, dev) => void (await ok(netns, ["ip", "link", "set", dev, "up"])),
    setSysctl: async (netns, key, value) => sysctlW(own(netns), key, value),
    setMtu: async (netns, dev, mtu) => void (await ok(netns, ["ip", "link", "set", dev, "mtu", String(mtu)])),
    deleteFdb: async (netns, mac, dev) =>
      void (await ok(netns, ["bridge", "fdb", "del", mac, "dev", dev, "self"])),
    iptables: async (netns, args) => ok(netns, ["iptables", ...args]),
    pod: findPod,
    destroy: async () => destroyLab(state.name),
  };
}

/**
 * Builds a lab (first removing leftovers of a lab with the same name). On any failure the partial
 * lab is destroyed and the error rethrown. Needs root, iproute2, nsenter and /usr/lib/cni.
 */
export async function createLab(opts: LabOptions): Promise<Lab> {
  checkLabName(opts.name);
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 50) {
    throw new LabError(`nodes must be 1..50, got ${opts.nodes}`);
  }
  if (!Number.isInteger(opts.podsPerNode) || opts.podsPerNode < 0 || opts.podsPerNode > 50) {
    throw new LabError(`podsPerNode must be 0..50, got ${opts.podsPerNode}`);
  }
  if (opts.cni === "kindnet" && opts.overlay !== "host-gw") {
    throw new LabError(
      `a kindnet lab routes pod CIDRs via the node addresses: use overlay "host-gw", not "${opts.overlay}"`,
    );
  }
  if (process.getuid?.() !== 0)
    throw new LabError("the kernel lab needs root: run `sudo npx vitest run --project lab`");
  await lockLab(opts.name);
  await destroyLab(opts.name);
  await lockLab(opts.name);
  registerForCleanup(opts.name);
  const state: Omit<Lab, keyof LabMethods> = {
    name: opts.name,
    overlay: opts.overlay,
    cni: opts.cni ?? "bridge",
    podMtu: opts.podMtu ?? (opts.overlay === "vxlan" ? VXLAN_MTU : 1500),
    tmpDir: labTmpDir(opts.name),
    underlayNetns: `${labPrefix(opts.name)}ul`,
    labId: labIdFor(opts.name),
    nodes: [],
    pods: [],
    brNetfilterModprobe: "not tried",
  };
  try {
    await build(opts, state);
  } catch (e) {
    await destroyLab(opts.name).catch(() => undefined);
    throw e;
  }
  return Object.assign(state, methods(state));
}

export { destroyLab };

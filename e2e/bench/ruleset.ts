/**
 * The bench's rule set: 10,000 Services × 5 endpoints, written by the lab's canonical kube-proxy
 * generator (e2e/kube-proxy/) to files the bench loads with `iptables-restore` and `nft -f`.
 * Service `traced` gets real lab pod addresses as endpoints, so a trace to it ends at a real pod.
 */
import { writeFile } from "node:fs/promises";
import { iptablesBaseJumps, iptablesRestore, nftRuleset, type Service } from "../kube-proxy/index.js";
import { shuffleNatChainDeclarations } from "./chain-order.js";

export const CLUSTER_CIDR = "10.244.0.0/16";
export const SERVICE_CIDR = "10.96.0.0/12";
export const SERVICE_PORT = 80;
export const TARGET_PORT = 8080;

export interface BenchRulesetOptions {
  services: number;
  endpointsPerService: number;
  /** Index of the Service the trace targets, and the endpoints it gets. */
  traced: { index: number; endpoints: readonly string[] };
}

function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** ClusterIP of Service `i`: from 10.96.4.0 on, inside the lab's service range 10.96.0.0/12. */
export function clusterIpOf(i: number): string {
  return intToIp((((10 << 24) | (96 << 16)) >>> 0) + 1024 + i);
}

/** A synthetic endpoint in 10.244.10.0/24 … 10.244.210.0/24, clear of the lab's 10.244.1-9.0/24. */
function endpointIp(e: number): string {
  return `10.244.${10 + Math.floor(e / 250)}.${2 + (e % 250)}`;
}

export function benchServices(opts: BenchRulesetOptions): Service[] {
  if (!Number.isInteger(opts.services) || opts.services < 1 || opts.services > 50_000)
    throw new Error("services must be 1..50000");
  if (
    !Number.isInteger(opts.endpointsPerService) ||
    opts.endpointsPerService < 1 ||
    opts.endpointsPerService > 64
  )
    throw new Error("endpointsPerService must be 1..64");
  const out: Service[] = [];
  for (let i = 0; i < opts.services; i++) {
    const ips =
      i === opts.traced.index
        ? [...opts.traced.endpoints]
        : Array.from({ length: opts.endpointsPerService }, (_, j) =>
            endpointIp(i * opts.endpointsPerService + j),
          );
    out.push({
      namespace: `ns${i % 100}`,
      name: `svc${i}`,
      clusterIP: clusterIpOf(i),
      ports: [{ name: "http", protocol: "TCP", port: SERVICE_PORT, targetPort: TARGET_PORT }],
      endpoints: ips.map((ip) => ({ ip, node: "node-1", ready: true })),
    });
  }
  return out;
}

export interface RulesetFiles {
  /** iptables-restore input: kube-proxy's sync, then its base-chain jumps (--noflush). */
  iptables: string[];
  /** nft -f input. */
  nft: string;
  /** Sizes, for the report. */
  iptablesBytes: number;
  nftBytes: number;
}

/** Writes the rule set files under `dir`. */
export async function writeRulesetFiles(dir: string, opts: BenchRulesetOptions): Promise<RulesetFiles> {
  const services = benchServices(opts);
  const sync = shuffleNatChainDeclarations(iptablesRestore(services, { clusterCIDR: CLUSTER_CIDR }));
  const jumps = iptablesBaseJumps({});
  const nft = nftRuleset(services, { clusterCIDR: CLUSTER_CIDR, serviceCIDR: SERVICE_CIDR, nodePortIPs: [] });
  const files: RulesetFiles = {
    iptables: [`${dir}/kube-proxy.iptables`, `${dir}/kube-proxy-jumps.iptables`],
    nft: `${dir}/kube-proxy.nft`,
    iptablesBytes: sync.length + jumps.length,
    nftBytes: nft.length,
  };
  await writeFile(files.iptables[0] as string, sync);
  await writeFile(files.iptables[1] as string, jumps);
  await writeFile(files.nft, nft);
  return files;
}

/**
 * Smoke e2e on real kind clusters (one control-plane node, one worker) for each network: real
 * traffic between pods on different nodes, both ways, directly and through a ClusterIP Service,
 * and the node wiring netmap's traces will name: flannel's cni0 bridge and flannel.1 VXLAN device
 * (the other node's address as VTEP in its FDB); kindnet's ptp veths with a /32 route per pod and
 * the route to the other node's pod CIDR via that node's address. Then, on the same cluster, netmap
 * itself (netmap-suite.ts): helm install, the real `kubectl netmap` on five paths checked against
 * the nodes' state, helm uninstall. Then the cluster is deleted, also after a failure.
 *
 *   npm run e2e:kind                             # offline (built here), kube-proxy iptables
 *   NETMAP_KIND_MODE=online npm run e2e:kind     # kind's published images (internet)
 *   NETMAP_KIND_NETWORKS=flannel NETMAP_KIND_PROXY_MODES=iptables,nftables npm run e2e:kind
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKindCluster, type KindCluster, type KindNetwork, type ProxyMode } from "./harness.js";
import { netmapSuite } from "./netmap-suite.js";
import { deployPodPair, nodeFacts, type PodPair, podHostVeth, tcpExchange } from "./workloads.js";

const networks = (process.env.NETMAP_KIND_NETWORKS ?? "flannel,kindnet")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is KindNetwork => s === "flannel" || s === "kindnet");
const proxyModes = (process.env.NETMAP_KIND_PROXY_MODES ?? "iptables")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is ProxyMode => s === "iptables" || s === "nftables");

interface IpLink {
  ifindex: number;
  ifname: string;
  master?: string;
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  scope?: string;
  flags?: string[];
}
interface FdbEntry {
  mac: string;
  dst?: string;
}

for (const network of networks) {
  for (const proxyMode of proxyModes) {
    describe(`kind ${network}, kube-proxy ${proxyMode}`, () => {
      let cluster: KindCluster | undefined;
      let pods: PodPair;

      beforeAll(async () => {
        cluster = await createKindCluster({ network, proxyMode });
        await cluster.loadImage(cluster.tools.NETMAP_IMAGE as string);
        pods = await deployPodPair(cluster, cluster.tools.NETMAP_IMAGE as string);
      });

      afterAll(async () => {
        await cluster?.delete();
      });

      const c = (): KindCluster => {
        if (!cluster) throw new Error("the cluster was not created (see the beforeAll error)");
        return cluster;
      };

      it("kube-proxy runs in the asked mode", async () => {
        const config = await c().kubectl([
          "-n",
          "kube-system",
          "get",
          "configmap",
          "kube-proxy",
          "-o",
          "jsonpath={.data.config\\.conf}",
        ]);
        expect(config).toMatch(new RegExp(`^mode: ${proxyMode}$`, "m"));
        const logs = await c().kubectl([
          "-n",
          "kube-system",
          "logs",
          "-l",
          "k8s-app=kube-proxy",
          "--tail=-1",
        ]);
        expect(logs).toContain(
          proxyMode === "iptables" ? "Using iptables Proxier" : "Using nftables Proxier",
        );
      });

      it("pods on different nodes reach each other over TCP, both ways", async () => {
        const { a, b } = pods;
        expect(a.node).not.toBe(b.node);
        expect(await tcpExchange(c(), a, b.ip)).toBe(b.name);
        expect(await tcpExchange(c(), b, a.ip)).toBe(a.name);
      });

      it("a ClusterIP Service with its endpoint on the other node answers", async () => {
        const { a, b, serviceIp } = pods;
        expect(await tcpExchange(c(), a, serviceIp)).toBe(b.name);
        // kube-proxy's own objects for the Service on the client's node.
        if (proxyMode === "iptables") {
          const nat = await c().execOk(a.node, ["iptables-save", "-t", "nat"]);
          expect(nat).toMatch(/^-A KUBE-SERVICES .*netmap-smoke\/echo-b.* -j KUBE-SVC-[A-Z0-9]{16}$/m);
          expect(nat).toMatch(
            new RegExp(
              `^-A KUBE-SEP-[A-Z0-9]{16} .* -j DNAT --to-destination ${b.ip.replaceAll(".", "\\.")}:8080$`,
              "m",
            ),
          );
        } else {
          const rules = await c().execOk(a.node, ["nft", "list", "table", "ip", "kube-proxy"]);
          expect(rules).toMatch(/chain service-[A-Z0-9]{8}-netmap-smoke\/echo-b\/tcp\//);
          expect(rules).toContain(`dnat to ${b.ip}:8080`);
        }
      });

      it(
        network === "flannel"
          ? "nodes carry cni0 and flannel.1 with the other node as VTEP"
          : "pods hang off ptp veths with /32 routes, no bridge",
        async () => {
          const facts = await nodeFacts(c());
          for (const pod of [pods.a, pods.b]) {
            const self = facts.get(pod.node);
            const other = [...facts.values()].find((f) => f.name !== pod.node);
            if (!self || !other) throw new Error(`no node facts for ${pod.node}`);
            const links = JSON.parse(
              await c().execOk(pod.node, ["ip", "-j", "-d", "link", "show"]),
            ) as IpLink[];
            const routes = JSON.parse(
              await c().execOk(pod.node, ["ip", "-j", "route", "show", "table", "main"]),
            ) as IpRoute[];
            const hostIfindex = await podHostVeth(c(), pod);
            const veth = links.find((l) => l.ifindex === hostIfindex);
            expect(veth?.linkinfo?.info_kind, `host side of ${pod.name}'s eth0 on ${pod.node}`).toBe("veth");
            if (network === "flannel") {
              expect(veth?.master).toBe("cni0");
              const cni0 = links.find((l) => l.ifname === "cni0");
              expect(cni0?.linkinfo?.info_kind).toBe("bridge");
              const vxlan = links.find((l) => l.ifname === "flannel.1");
              expect(vxlan?.linkinfo?.info_kind).toBe("vxlan");
              expect(vxlan?.linkinfo?.info_data?.id).toBe(1);
              expect(vxlan?.linkinfo?.info_data?.local).toBe(self.address);
              const fdb = JSON.parse(
                await c().execOk(pod.node, ["bridge", "-j", "fdb", "show", "dev", "flannel.1"]),
              ) as FdbEntry[];
              expect(fdb.map((e) => e.dst)).toContain(other.address);
              const toOther = routes.find((r) => r.dst === other.podCidr);
              expect(toOther?.dev).toBe("flannel.1");
              expect(toOther?.flags).toContain("onlink");
            } else {
              expect(veth?.master).toBeUndefined();
              expect(links.some((l) => l.linkinfo?.info_kind === "bridge")).toBe(false);
              const podRoute = routes.find((r) => r.dst === pod.ip);
              expect(podRoute?.dev, `the /32 route to ${pod.ip} on ${pod.node}`).toBe(veth?.ifname);
              expect(podRoute?.scope).toBe("host");
              const toOther = routes.find((r) => r.dst === other.podCidr);
              expect(toOther?.gateway, `route to ${other.podCidr} on ${pod.node}`).toBe(other.address);
            }
          }
        },
      );

      netmapSuite(c);
    });
  }
}

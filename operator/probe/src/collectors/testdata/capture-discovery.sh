#!/usr/bin/env bash
# Captures what pod discovery reads (`ip -j -d link show`, `ip -j addr show`, `ip -j route show
# table all`) on a node whose veths lead to four kinds of neighbour, from throwaway namespaces
# named nmdisc-*. Run as root from this directory:
#
#   sudo ./capture-discovery.sh
#
# Hermetic: every link, address and route lives inside the nmdisc-* namespaces (deleted on exit,
# also on failure); no packet is sent. The CNI ptp plugin writes its IPAM state under a temp dir.
#
#   nmdisc-node     the node: eth0 (veth to the underlay, 172.31.250.1/24, default via
#                   172.31.250.254, the underlay of vxlan flannel.1 local 172.31.250.1), and the
#                   host ends of the three veths below
#   nmdisc-ul       the underlay: bridge ul0 with the node's eth0 peer `n1` as a port (a switch)
#   nmdisc-ptp      a pod wired by the real CNI ptp plugin (host-local 10.244.1.0/24): its host veth
#                   holds the gateway 10.244.1.1/32, scope global, and a /32 route to the pod
#   nmdisc-sandbox  a hand-wired sandbox: host veth vsbx holds the /24 gateway 10.200.1.1/24, the
#                   sandbox's eth0 10.200.1.2/24 with default via 10.200.1.1
#   nmdisc-bare     a bare veth pair: vbare 10.201.0.1/30 on the node, eth0 10.201.0.2/30, no routes
#                   but the kernel's
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
NS=(nmdisc-node nmdisc-ul nmdisc-ptp nmdisc-sandbox nmdisc-bare)
state="$(mktemp -d)"
cleanup() {
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT
cleanup
state="$(mktemp -d)"
for n in "${NS[@]}"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

# underlay and uplink
ip -n nmdisc-ul link add ul0 type bridge
ip -n nmdisc-ul link set ul0 up
ip -n nmdisc-ul link add n1 type veth peer name eth0 netns nmdisc-node
ip -n nmdisc-ul link set n1 master ul0 up
ip -n nmdisc-node addr add 172.31.250.1/24 dev eth0
ip -n nmdisc-node link set eth0 up
ip -n nmdisc-node route add default via 172.31.250.254 dev eth0
ip -n nmdisc-node link add flannel.1 type vxlan id 1 dstport 8472 nolearning local 172.31.250.1 dev eth0
ip -n nmdisc-node link set flannel.1 up

# a pod wired by the real CNI ptp plugin, run in the node netns as a runtime does
printf '%s' '{"cniVersion":"1.0.0","name":"kindnet","type":"ptp","ipMasq":false,"mtu":1500,"ipam":{"type":"host-local","dataDir":"'"$state"'","ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}' |
  CNI_COMMAND=ADD CNI_CONTAINERID=nmdisc-ptp CNI_NETNS=/var/run/netns/nmdisc-ptp CNI_IFNAME=eth0 \
    CNI_PATH=/usr/lib/cni nsenter --net=/var/run/netns/nmdisc-node /usr/lib/cni/ptp >"$state/ptp-result.json"

# a sandbox behind a host veth holding its /24 gateway
ip -n nmdisc-node link add vsbx type veth peer name eth0 netns nmdisc-sandbox
ip -n nmdisc-node addr add 10.200.1.1/24 dev vsbx
ip -n nmdisc-node link set vsbx up
ip -n nmdisc-sandbox addr add 10.200.1.2/24 dev eth0
ip -n nmdisc-sandbox link set eth0 up
ip -n nmdisc-sandbox route add default via 10.200.1.1 dev eth0

# a bare veth pair
ip -n nmdisc-node link add vbare type veth peer name eth0 netns nmdisc-bare
ip -n nmdisc-node addr add 10.201.0.1/30 dev vbare
ip -n nmdisc-node link set vbare up
ip -n nmdisc-bare addr add 10.201.0.2/30 dev eth0
ip -n nmdisc-bare link set eth0 up

for n in "${NS[@]}"; do
  short="${n#nmdisc-}"
  ip -n "$n" -j -d link show >"$out/discovery-$short-ip-link.json"
  ip -n "$n" -j addr show >"$out/discovery-$short-ip-addr.json"
  ip -n "$n" -j route show table all >"$out/discovery-$short-ip-route.json"
done

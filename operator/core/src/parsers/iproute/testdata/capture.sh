#!/usr/bin/env bash
# Captures real iproute2 / bridge / sysctl output (JSON, plus the text forms for cross-checks) from a
# tiny throwaway topology built in network namespaces named nmcap-*. Run as root from this directory:
#
#   sudo ./capture.sh
#
# Hermetic: every link, address, route and rule lives inside the nmcap-* namespaces; nothing is
# created in the root netns and no packet is sent on purpose (the kernel may emit IPv6 DAD/RS inside
# the namespaces, which never leave them). The namespaces are deleted on exit, also on failure.
#
# Topology (a flannel-style node):
#   nmcap-node   eth0 (veth to nmcap-peer, underlay 192.168.100.1/24)
#                cni0 bridge 10.244.0.1/24 with ports vethpod1, vethpod2
#                flannel.1 vxlan id 1 local 192.168.100.1 dev eth0 dstport 8472 nolearning, 10.244.0.0/32
#                  neigh 10.244.1.0 lladdr 0a:aa:bb:cc:dd:01 PERMANENT
#                  fdb   0a:aa:bb:cc:dd:01 dst 192.168.100.2 self permanent
#                  route 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
#                genev0 geneve id 7 (if the kernel has geneve), cilium_vxlan vxlan external dstport 4789 (collect-metadata)
#                kube-ipvs0 dummy 10.96.0.10/32 (if the kernel has dummy)
#                rule 100: from 10.244.0.0/24 fwmark 0x10/0xff lookup 100
#                table 100: default via 192.168.100.2 dev eth0, blackhole 10.244.9.0/24
#                main: multipath 10.250.0.0/16 via 192.168.100.2 / 192.168.100.3, unreachable, prohibit
#   nmcap-pod1   eth0 10.244.0.2/24, default via 10.244.0.1
#   nmcap-pod2   eth0 10.244.0.3/24, default via 10.244.0.1
#   nmcap-peer   eth0 192.168.100.2/24 (the other end of the underlay; never used)
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
NS=(nmcap-node nmcap-pod1 nmcap-pod2 nmcap-peer)

cleanup() {
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup

for ns in "${NS[@]}"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done

n() { ip -n nmcap-node "$@"; }

# underlay
n link add eth0 type veth peer name eth0 netns nmcap-peer
n addr add 192.168.100.1/24 dev eth0
n link set eth0 up
ip -n nmcap-peer addr add 192.168.100.2/24 dev eth0
ip -n nmcap-peer link set eth0 up

# cni0 and two pods
n link add cni0 type bridge
n addr add 10.244.0.1/24 dev cni0
n link set cni0 up
i=1
for pod in nmcap-pod1 nmcap-pod2; do
  n link add "vethpod$i" type veth peer name eth0 netns "$pod"
  n link set "vethpod$i" master cni0
  n link set "vethpod$i" type bridge_slave hairpin on
  n link set "vethpod$i" up
  ip -n "$pod" addr add "10.244.0.$((i + 1))/24" dev eth0
  ip -n "$pod" link set eth0 mtu 1450 up
  ip -n "$pod" route add default via 10.244.0.1 dev eth0
  i=$((i + 1))
done

# flannel.1 VXLAN with its remote VTEP wiring
n link add flannel.1 type vxlan id 1 local 192.168.100.1 dev eth0 dstport 8472 nolearning
n link set flannel.1 mtu 1450 up
n addr add 10.244.0.0/32 dev flannel.1
n neigh add 10.244.1.0 lladdr 0a:aa:bb:cc:dd:01 dev flannel.1 nud permanent
bridge -n nmcap-node fdb append 0a:aa:bb:cc:dd:01 dev flannel.1 dst 192.168.100.2 self permanent
n route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink

# other tunnel shapes and a kube-proxy IPVS dummy
# geneve is optional: not every kernel has it (the OVN/Antrea fixture covers geneve text output)
if n link add genev0 type geneve id 7 remote 192.168.100.2 2>/dev/null; then
  n link set genev0 up
else
  echo "geneve: not supported by this kernel, skipped" >&2
fi
n link add cilium_vxlan type vxlan external dstport 4789
n link set cilium_vxlan up
if n link add kube-ipvs0 type dummy 2>/dev/null; then
  n addr add 10.96.0.10/32 dev kube-ipvs0
else
  echo "dummy: not supported by this kernel, skipped" >&2
fi

# policy routing, a second table, blackhole, multipath, unreachable/prohibit
n rule add priority 100 from 10.244.0.0/24 fwmark 0x10/0xff lookup 100
n route add default via 192.168.100.2 dev eth0 table 100
n route add blackhole 10.244.9.0/24 table 100
n route add 10.250.0.0/16 nexthop via 192.168.100.2 dev eth0 weight 1 nexthop via 192.168.100.3 dev eth0 weight 2
n route add unreachable 10.251.0.0/16
n route add prohibit 10.252.0.5 metric 50
ip netns exec nmcap-node sysctl -q -w net.ipv4.ip_forward=1

# let IPv6 DAD finish (no "tentative" address left) so the JSON and text captures show the same state
for _ in $(seq 1 40); do
  tentative=0
  for ns in nmcap-node nmcap-pod1; do
    if ip -n "$ns" addr show | grep -q tentative; then tentative=1; fi
  done
  [ "$tentative" = 0 ] && break
  sleep 0.5
done

# JSON exactly as capture/sources.ts runs it
capture_json() { # <netns> <prefix> <scope: all|host>
  local ns="$1" prefix="$2" scope="$3"
  ip netns exec "$ns" ip -j -d link show >"$out/$prefix-ip-link.json"
  ip netns exec "$ns" ip -j addr show >"$out/$prefix-ip-addr.json"
  ip netns exec "$ns" ip -j route show table all >"$out/$prefix-ip-route.json"
  ip netns exec "$ns" ip -j rule show >"$out/$prefix-ip-rule.json"
  ip netns exec "$ns" ip -j neigh show >"$out/$prefix-ip-neigh.json"
  if [ "$scope" = host ]; then
    ip netns exec "$ns" bridge -j fdb show >"$out/$prefix-bridge-fdb.json"
    ip netns exec "$ns" bridge -j link show >"$out/$prefix-bridge-link.json"
  fi
  ip netns exec "$ns" ip -j netns list-id >"$out/$prefix-netns-ids.json"
  ip netns exec "$ns" sysctl -a -r '^net\.(ipv4|bridge)\.' >"$out/$prefix-sysctl.txt"
}
# The same state in iproute2's text form, to cross-check the text parsers and the formatters.
capture_text() { # <netns> <prefix>
  local ns="$1" prefix="$2"
  ip netns exec "$ns" ip -d link show >"$out/$prefix-ip-d-link.txt"
  ip netns exec "$ns" ip addr show >"$out/$prefix-ip-addr.txt"
  ip netns exec "$ns" ip route show table all >"$out/$prefix-ip-route-table-all.txt"
  ip netns exec "$ns" ip rule show >"$out/$prefix-ip-rule.txt"
  ip netns exec "$ns" ip neigh show >"$out/$prefix-ip-neigh.txt"
  ip netns exec "$ns" bridge fdb show >"$out/$prefix-bridge-fdb.txt"
  ip netns exec "$ns" bridge link show >"$out/$prefix-bridge-link.txt"
}

capture_json nmcap-node lab-node host
capture_text nmcap-node lab-node
capture_json nmcap-pod1 lab-pod all
capture_text nmcap-pod1 lab-pod
rm -f "$out/lab-pod-bridge-fdb.txt" "$out/lab-pod-bridge-link.txt"

echo "captured with $(ip -V), kernel $(uname -r) on $(date -u +%Y-%m-%d)"

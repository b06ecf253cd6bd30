#!/usr/bin/env bash
# Captures the route cache lines iproute2 prints for a learned path-MTU exception, IPv4 and IPv6,
# from a throwaway three-namespace topology (nmpmtu-a -- nmpmtu-r -- nmpmtu-c). Run as root from
# this directory:
#
#   sudo ./capture-pmtu-cache.sh
#
# Hermetic: everything lives in the nmpmtu-* namespaces (deleted on exit, also on failure); the only
# packets are two bounded pings from a to c (-c 2 -W 1) through r, whose link to c has MTU 1300, so r
# answers "fragmentation needed" / "packet too big" and a records an exception with mtu 1300.
#
# Writes:
#   lab-pmtu-ip-route-show-cache.txt     `ip route show cache`: the IPv4 exception, its attributes
#                                         on iproute2's `    cache …` continuation line
#   lab-pmtu-ip-6-route-show-cache.txt   `ip -6 route show cache`: IPv6 prints `expires` inline
#   lab-pmtu-ip-j-route-show-cache.json  `ip -j route show cache`: "cache":[] with "expires"
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
P=nmpmtu
cleanup() { for n in a r c; do ip netns del "$P-$n" 2>/dev/null || true; done; }
trap cleanup EXIT
cleanup
for n in a r c; do ip netns add "$P-$n"; done
ip link add va netns "$P-a" type veth peer name ra netns "$P-r"
ip link add vc netns "$P-c" type veth peer name rc netns "$P-r"
ip -n "$P-r" link set rc mtu 1300
ip -n "$P-c" link set vc mtu 1300
for n in a r c; do ip -n "$P-$n" link set lo up; done
ip -n "$P-a" link set va up
ip -n "$P-r" link set ra up
ip -n "$P-r" link set rc up
ip -n "$P-c" link set vc up
ip -n "$P-a" addr add 10.99.1.2/24 dev va
ip -n "$P-r" addr add 10.99.1.1/24 dev ra
ip -n "$P-r" addr add 10.99.2.1/24 dev rc
ip -n "$P-c" addr add 10.99.2.2/24 dev vc
ip -n "$P-a" addr add fd99:1::2/64 dev va nodad
ip -n "$P-r" addr add fd99:1::1/64 dev ra nodad
ip -n "$P-r" addr add fd99:2::1/64 dev rc nodad
ip -n "$P-c" addr add fd99:2::2/64 dev vc nodad
ip -n "$P-a" route add default via 10.99.1.1
ip -n "$P-c" route add default via 10.99.2.1
ip -n "$P-a" -6 route add default via fd99:1::1
ip -n "$P-c" -6 route add default via fd99:2::1
ip netns exec "$P-r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
sleep 1
ip netns exec "$P-a" ping -c 2 -W 1 -M do -s 1400 10.99.2.2 >/dev/null 2>&1 || true
ip netns exec "$P-a" ping -6 -c 2 -W 1 -M do -s 1400 fd99:2::2 >/dev/null 2>&1 || true
ip -n "$P-a" route show cache >"$out/lab-pmtu-ip-route-show-cache.txt"
ip -n "$P-a" -6 route show cache >"$out/lab-pmtu-ip-6-route-show-cache.txt"
ip -n "$P-a" -j route show cache >"$out/lab-pmtu-ip-j-route-show-cache.json"

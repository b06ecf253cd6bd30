#!/usr/bin/env bash
# Produce REAL `ipset save` and `ipset list` output from this machine's kernel, with the sets
# kube-proxy's IPVS mode creates (names, types and comments as kube-proxy writes them; members
# taken from kind-tkng-ipset-list-*.txt). Everything happens in a throwaway netns `nmcap-ipset`
# (ipsets are per network namespace), deleted on exit; no packet is sent.
# (This kernel has no IPVS, so ipvsadm output can only come from the captured fixtures.)
# Usage: sudo bash capture.sh
set -euo pipefail
NS=nmcap-ipset
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
trap 'ip netns delete "$NS" 2>/dev/null || true' EXIT INT TERM
[[ $(id -u) -eq 0 ]] || { echo "capture.sh: needs root (it creates the netns $NS); run it with sudo" >&2; exit 1; }
ip netns delete "$NS" 2>/dev/null || true
ip netns add "$NS"
x() { ip netns exec "$NS" "$@"; }
x ipset create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 comment
x ipset create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536 comment
x ipset create KUBE-NODE-PORT-TCP bitmap:port range 0-65535 comment
x ipset create KUBE-LOAD-BALANCER hash:ip,port family inet hashsize 1024 maxelem 65536 comment
for m in 10.96.0.10,udp:53 10.96.0.1,tcp:443 10.96.0.10,tcp:53 10.96.148.225,tcp:80 10.96.0.10,tcp:9153; do
  x ipset add KUBE-CLUSTER-IP "$m" comment "Kubernetes service cluster ip + port for masquerade purpose"
done
for m in 10.244.1.2,tcp:3030,10.244.1.2 10.244.1.6,tcp:80,10.244.1.6; do
  x ipset add KUBE-LOOP-BACK "$m" comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"
done
x ipset add KUBE-NODE-PORT-TCP 31730 comment "Kubernetes nodeport TCP port for masquerade purpose"
x ipset save >"$HERE/captured-ipset-save.txt"
x ipset list >"$HERE/captured-ipset-list.txt"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(ipset --version | head -1); kernel: $(uname -r)" | tee "$HERE/captured.env" >&2

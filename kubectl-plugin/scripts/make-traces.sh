#!/bin/sh
# Regenerates kubectl-plugin/src/testdata/traces/*.json from the kernel lab (needs root and the
# lab's tools: see e2e/lab/install-deps.sh). Every trace is real engine output: the lab is built,
# captured with the probe, torn down, and `kubectl netmap trace --snapshots … -o json` runs on it.
#
#   make-traces.sh            every trace (builds the MTU and host-gw labs: root)
#   make-traces.sh services   only the Service traces, from the committed lab-services-* snapshots
#                             (no root, no lab; REFRESH_SNAPSHOT=1 rebuilds those snapshots: root)
set -eu
cd "$(dirname "$0")/../.."
NODE=${NODE:-node_modules/.bin/node}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TRACES=kubectl-plugin/src/testdata/traces
SNAPS=kubectl-plugin/src/testdata/snapshots
SNAP=$SNAPS/lab-vxlan
IPT=$SNAPS/lab-services-iptables
NFT=$SNAPS/lab-services-nftables
T="$NODE kubectl-plugin/bin/kubectl-netmap.js trace"
ONLY=${1:-all}

# Services (e2e/lab/services.ts): web 10.96.0.10 (3 endpoints, one per node), web-nodeport
# 10.96.0.11 / NodePort 30080, empty 10.96.0.12 (no endpoints), sticky 10.96.0.13 (ClientIP
# affinity, 10800 s). The client is pod-1-2 on node-1; --endpoint 1 follows the endpoint on node-2.
services() {
  if [ "${REFRESH_SNAPSHOT:-0}" = 1 ]; then
    rm -rf "$IPT" "$NFT"
    "$NODE" e2e/dist/lab/snapshot-lab.js --out "$IPT" --name nmsvcipt --nodes 3 --pods 2 --services iptables
    "$NODE" e2e/dist/lab/snapshot-lab.js --out "$NFT" --name nmsvcnft --nodes 3 --pods 2 --services nftables
  fi
  for mode in iptables nftables; do
    if [ "$mode" = iptables ]; then S=$IPT; else S=$NFT; fi
    $T --snapshots "$S" pod-1-2 10.96.0.10 --port 80 --endpoint 1 -o json > "$TRACES/service-clusterip-$mode.json"
    $T --snapshots "$S" pod-1-2 10.96.0.13 --port 80 --endpoint 1 -o json > "$TRACES/service-sticky-$mode.json"
    $T --snapshots "$S" pod-1-2 10.96.0.12 --port 80 -o json > "$TRACES/service-no-endpoints-$mode.json"
    # NodePort 30080 on node-2's underlay address (each lab build picks its own underlay subnet).
    $T --snapshots "$S" pod-1-2 "$(eth0_of "$S/node-2")" --port 30080 -o json > "$TRACES/service-nodeport-$mode.json"
  done
}

# The IPv4 address of eth0 in a node snapshot (its underlay address).
eth0_of() {
  "$NODE" -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).find((x) => x.ifname === "eth0");
console.log(l.addr_info.find((a) => a.family === "inet").local);' "$1/host/ip-addr.json"
}

if [ "$ONLY" = services ]; then
  services
  echo "wrote the Service traces to $TRACES" >&2
  exit 0
fi

if [ "${REFRESH_SNAPSHOT:-0}" = 1 ]; then
  rm -rf "$SNAP"
  "$NODE" e2e/dist/lab/snapshot-lab.js --out "$SNAP" --name nmsnap
fi
"$NODE" e2e/dist/lab/snapshot-lab.js --out "$WORK/mtu" --name nmmtu --pod-mtu 1500
"$NODE" e2e/dist/lab/snapshot-lab.js --out "$WORK/hostgw" --name nmhostgw --overlay host-gw

$T --snapshots "$SNAP" pod-1-1 pod-1-2 --protocol icmp -o json > "$TRACES/same-node-icmp.json"
$T --snapshots "$SNAP" netmap-lab/pod-1-1 netmap-lab/pod-2-1 --protocol tcp --port 8080 -o json > "$TRACES/cross-node-tcp.json"
$T --snapshots "$SNAP" pod-1-1 10.244.9.9 --protocol icmp -o json > "$TRACES/no-route-dropped.json"
$T --snapshots "$WORK/mtu" pod-1-1 pod-2-2 --protocol tcp --port 8080 -o json > "$TRACES/cross-node-mtu.json"
$T --snapshots "$WORK/hostgw" pod-1-2 pod-2-1 --protocol udp --port 53 -o json > "$TRACES/cross-node-hostgw-udp.json"
$T --snapshots "$SNAP/node-1" pod-1-1 10.244.2.2 --protocol icmp -o json > "$TRACES/missing-node-unknown.json"
services
echo "wrote $(ls "$TRACES"/*.json | wc -l) traces to $TRACES" >&2

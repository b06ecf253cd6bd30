#!/bin/sh
# Regenerates kubectl-plugin/src/testdata/traces/*.json from the kernel lab (needs root and the
# lab's tools: see e2e/lab/install-deps.sh). Every trace is real engine output: the lab is built,
# captured with the probe, torn down, and `kubectl netmap trace --snapshots … -o json` runs on it.
set -eu
cd "$(dirname "$0")/../.."
NODE=${NODE:-node_modules/.bin/node}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TRACES=kubectl-plugin/src/testdata/traces
SNAP=kubectl-plugin/src/testdata/snapshots/lab-vxlan
T="$NODE kubectl-plugin/bin/kubectl-netmap.js trace"

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
echo "wrote $(ls "$TRACES"/*.json | wc -l) traces to $TRACES" >&2

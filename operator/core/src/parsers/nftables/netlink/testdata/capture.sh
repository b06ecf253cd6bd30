#!/usr/bin/env bash
# Captures REAL nf_tables netlink replies from this machine's kernel, with nft's own JSON listing of
# the same state, for the netlink decoder's tests. Run as root from the repository root after
# `npx tsc -b` (capture.mjs uses the built encoder): `sudo bash operator/core/src/parsers/nftables/netlink/testdata/capture.sh`.
#
# Hermetic: each ruleset is loaded into a throwaway network namespace (nmx-nlcap-<pid>) that is
# flushed between rulesets and deleted on exit, interrupt or error. No traffic is sent; nothing in the
# root netns changes. Netlink requests go through socat on an AF_NETLINK/NETLINK_NETFILTER datagram
# socket opened inside the netns; replies are stored base64-encoded, one JSON file per table.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../../testdata"
ns="nmx-nlcap-$$"
repo="$(cd "$here/../../../../../../.." && pwd)"
node="${NODE:-$repo/node_modules/.bin/node}"

if [[ $(id -u) -ne 0 ]]; then
  echo "capture.sh: must run as root" >&2
  exit 1
fi
if [[ ! -f "$here/../../../../../dist/parsers/nftables/netlink/index.js" ]]; then
  echo "capture.sh: build first (npx tsc -b)" >&2
  exit 1
fi

cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

# capture FILE FAMILY TABLE OUT: loads FILE (nft list syntax) and captures table FAMILY TABLE into OUT.
capture() {
  in_ns nft flush ruleset
  in_ns nft -f "$1"
  "$node" "$here/capture.mjs" "$ns" "$2" "$3" "$here/$4"
}

# The existing fixtures' own `nft list ruleset` listings (../../testdata/*.nft.txt, see PROVENANCE.md
# there): kube-proxy's golden ruleset, the k3s kube-proxy table and flannel's table load as they are.
capture "$fixtures/golden-kube-proxy.nft.txt" ip kube-proxy golden-kube-proxy.netlink.json
capture "$fixtures/k3s-riset-kube-proxy.nft.txt" ip kube-proxy k3s-riset-kube-proxy.netlink.json
capture "$fixtures/flannel-ipv4.nft.txt" ip flannel-ipv4 flannel-ipv4.netlink.json
# NOT cluster captures: hand-written rulesets with statements the above lack (see PROVENANCE.md).
capture "$fixtures/render-coverage.nft.txt" ip coverage render-coverage.netlink.json
capture "$here/shapes.nft" ip netlink-shapes shapes-ip.netlink.json
capture "$here/shapes.nft" ip6 kube-proxy shapes-ip6.netlink.json

{
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nft: $(nft -v)"
  echo "socat: $(socat -V | grep -m1 'socat version')"
  echo "kernel: $(uname -srm)"
} >"$here/capture-env.txt"
echo "capture.sh: done" >&2

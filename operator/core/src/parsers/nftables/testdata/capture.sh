#!/usr/bin/env bash
# Captures REAL `nft -j list ruleset` output from this machine's kernel for the nftables parser and
# evaluator tests. Run as root from anywhere: `sudo bash capture.sh`.
#
# Hermetic: every ruleset is loaded into a throwaway network namespace (nmcap-nft) that is flushed
# between captures and always deleted on exit. No traffic is sent; nothing in the root netns changes.
# The text fixtures loaded here are the copies next to this script (see PROVENANCE.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ns=nmcap-nft

if [[ $(id -u) -ne 0 ]]; then
  echo "capture.sh: must run as root" >&2
  exit 1
fi

cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT

cleanup
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

# dump NAME: writes NAME.json (`nft -j list ruleset`) and NAME.txt (`nft list ruleset`, for comparing
# the parser's rendered rule text with nft's own), then flushes the netns's ruleset.
dump() {
  in_ns nft -j list ruleset >"$here/$1.json"
  in_ns nft list ruleset >"$here/$1.txt"
  in_ns nft flush ruleset
}

# (a) kube-proxy's golden nftables transaction (kubernetes proxier_test.go). nft 1.0.6 refuses the
# file as written: rules `goto`/vmap into chains whose `add chain` comes later in the file ("Could
# not process rule: No such file or directory"). The only adaptation: all `add table|set|map|chain`
# lines are hoisted, in their original order, before the other lines. No line is changed.
golden="$here/k8s-golden-overall-nftables-transaction.txt"
{
  grep -E '^add (table|set|map|chain) ' "$golden"
  grep -vE '^add (table|set|map|chain) ' "$golden"
} | in_ns nft -f -
dump golden-kube-proxy.nft

# (b) k3s `nft list table ip kube-proxy`, complete; list syntax loads as is with `nft -f`.
in_ns nft -f "$here/k3s-riset-nft-list-table-kube-proxy-full.txt"
dump k3s-riset-kube-proxy.nft

# (c) flannel's own table (EnableNFTables=true), as listed on the temach cluster; loads as is.
in_ns nft -f "$here/kubeadm-flannel-temach-nft-list-table-flannel-ipv4.txt"
dump flannel-ipv4.nft

# (d) a mixed node: a real iptables-save (kube-proxy iptables mode + flannel) restored through the
# iptables-nft backend, which creates ip mangle/filter/nat tables whose rules carry `xt`
# expressions, next to flannel's native nftables table. The evaluator must skip the former.
in_ns iptables-nft-restore <"$here/kubeadm-v1.29-flannel-minik8s-iptables-save-full.txt"
in_ns nft -f "$here/kubeadm-flannel-temach-nft-list-table-flannel-ipv4.txt"
dump iptables-nft-plus-flannel.nft

# (e) NOT a cluster capture: render-coverage.nft, a hand-written ruleset with the statements
# kube-proxy/flannel write that (a)-(d) lack (fib daddr type local for NodePorts, dnat via a concat
# map, log, limit, notrack, reject with tcp reset, snat, ct status dnat, intervals, set update with
# timeout). Its JSON and listing are nft's own; the tests compare the renderer against them.
in_ns nft -f "$here/render-coverage.nft"
dump render-coverage.nft

{
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nft: $(nft -v)"
  echo "iptables: $(iptables -V)"
  echo "kernel: $(uname -srm)"
} >"$here/capture-env.txt"
echo "capture.sh: wrote $(ls "$here"/*.nft.json | wc -l) JSON captures to $here" >&2

#!/usr/bin/env bash
# Produce REAL iptables-save dumps from this machine's kernel, for the parser and evaluator tests.
#
# For each input (kube-proxy golden rules from the upstream tests, and one real save from a kubeadm
# node) and each backend (nf_tables, legacy), it:
#   1. creates a throwaway network namespace `nmcap-ipt` (nothing is touched in the root netns),
#   2. loads the rules with `ip netns exec nmcap-ipt iptables-{nft,legacy}-restore`,
#   3. dumps them with `iptables-{nft,legacy}-save -c` into captured-<input>-<backend>.txt,
#   4. deletes the netns (also on any error, via trap).
# No interface is brought up and no packet is sent: the namespace has only a down loopback.
#
# Adaptations of the inputs (only what the kernel or iptables-restore refuses; each documented in
# PROVENANCE.md):
#   - k8s-golden-cleanup-initial-full-state.txt: the upstream test writes some comments unquoted
#     (`--comment kubernetes service portals`); iptables-restore splits on blanks and rejects the
#     extra words, so those comments are quoted before loading.
#   - k8s-golden-overall-iptables-rules-nfacct.txt: `-m nfacct --nfacct-name X` needs the nfacct
#     object X to exist in the netns. If the `nfacct` tool is present the objects are created;
#     otherwise the `-m nfacct --nfacct-name X` part is removed from those rules (the rules stay).
#     The upstream test covers only kube-proxy's own chains; kube-proxy also installs the jumps from
#     the built-in chains (PREROUTING/OUTPUT -> KUBE-SERVICES, POSTROUTING -> KUBE-POSTROUTING,
#     INPUT/FORWARD/OUTPUT -> KUBE-PROXY-FIREWALL/KUBE-NODEPORTS/KUBE-EXTERNAL-SERVICES/...).
#     Those jump rules are added, verbatim from the real kubeadm v1.29 save
#     (kubeadm-v1.29-flannel-minik8s-iptables-save-full.txt), so a packet can be walked from a hook.
#
# Usage: sudo bash capture.sh        (writes next to this script)
set -euo pipefail

NS=nmcap-ipt
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d)"

cleanup() {
  ip netns delete "$NS" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

if [[ $(id -u) -ne 0 ]]; then
  echo "capture.sh: needs root (it creates the netns $NS); run it with sudo" >&2
  exit 1
fi

# Quote the unquoted multi-word comments of the cleanup golden file: the words after `--comment `
# up to the next option (a word starting with `-`). Already-quoted comments are left alone.
quote_comments() {
  perl -pe 's/--comment (?!")((?:[^ -][^ ]* ?)+?) (?=-)/--comment "$1" /' "$1"
}

# kube-proxy's jumps from the built-in chains, as the real kubeadm v1.29 save has them.
add_base_jumps() {
  local table="$1"
  grep -E '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j KUBE-(SERVICES|POSTROUTING|PROXY-FIREWALL|NODEPORTS|EXTERNAL-SERVICES|FORWARD|FIREWALL)$' \
    <(awk -v t="*$table" '$0==t{on=1;next} on&&/^COMMIT/{on=0} on' "$HERE/kubeadm-v1.29-flannel-minik8s-iptables-save-full.txt")
}

with_base_jumps() {
  local in="$1"
  awk -v filter="$(add_base_jumps filter)" -v nat="$(add_base_jumps nat)" '
    /^\*/ { table=substr($0,2) }
    /^COMMIT/ { if (table=="filter") print filter; if (table=="nat") print nat }
    { print }' "$in"
}

prepare_nfacct_input() {
  local in="$1" out="$2"
  if command -v nfacct >/dev/null 2>&1; then
    cp "$in" "$out"
    for acct in $(grep -o -- '--nfacct-name [^ ]*' "$in" | awk '{print $2}' | sort -u); do
      ip netns exec "$NS" nfacct add "$acct"
    done
    echo "nfacct objects created" >&2
  else
    sed -E 's/ -m nfacct --nfacct-name [^ ]+//' "$in" >"$out"
    echo "nfacct tool missing: removed -m nfacct from the rules" >&2
  fi
}

capture() {
  local name="$1" input="$2" backend="$3"
  ip netns delete "$NS" 2>/dev/null || true
  ip netns add "$NS"
  local src="$TMP/$name.rules"
  case "$name" in
    golden-cleanup) quote_comments "$input" >"$src" ;;
    golden-nfacct)
      prepare_nfacct_input "$input" "$TMP/nfacct.rules"
      with_base_jumps "$TMP/nfacct.rules" >"$src"
      ;;
    *) cp "$input" "$src" ;;
  esac
  local restore_opts=()
  # The kubeadm save carries real policy counters ([p:b]); restore them so `save -c` shows them.
  [[ "$name" == kubeadm ]] && restore_opts=(--counters)
  ip netns exec "$NS" "iptables-$backend-restore" "${restore_opts[@]}" <"$src"
  ip netns exec "$NS" "iptables-$backend-save" -c >"$HERE/captured-$name-$backend.txt"
  echo "captured-$name-$backend.txt: $(wc -l <"$HERE/captured-$name-$backend.txt") lines" >&2
  ip netns delete "$NS"
}

for backend in nft legacy; do
  capture golden-cleanup "$HERE/k8s-golden-cleanup-initial-full-state.txt" "$backend"
  capture golden-nfacct "$HERE/k8s-golden-overall-iptables-rules-nfacct.txt" "$backend"
  capture kubeadm "$HERE/kubeadm-v1.29-flannel-minik8s-iptables-save-full.txt" "$backend"
done

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "iptables: $(iptables-nft-save --version 2>&1) / $(iptables-legacy-save --version 2>&1)"
  echo "kernel: $(uname -r)"
  echo "nfacct tool: $(command -v nfacct >/dev/null 2>&1 && echo present || echo absent)"
} >"$HERE/captured.env"
cat "$HERE/captured.env" >&2

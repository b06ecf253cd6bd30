#!/usr/bin/env bash
# Installs what the netmap kernel lab needs on a Debian/Ubuntu machine. Idempotent: packages that
# are already installed are skipped, and `apt-get update` only runs when something is missing and
# the package lists are absent or older than a day. Needs root.
set -euo pipefail

PACKAGES=(
  iproute2 iptables nftables ipset conntrack containernetworking-plugins
  util-linux jq tmux iputils-ping kmod socat
)

if [[ "$(id -u)" != "0" ]]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all lab dependencies present"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when there are none, or they are older than a day, or the
# install fails because a candidate is unknown.
lists=(/var/lib/apt/lists/*_Packages*)
if [[ ! -e "${lists[0]}" ]] || [[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin +1440 -print -quit)" ]]; then
  apt-get update -q
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

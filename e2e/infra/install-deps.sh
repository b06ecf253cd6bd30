#!/usr/bin/env bash
# Installs what the real-Kubernetes test infrastructure needs on a Debian/Ubuntu machine: openssl
# (the control plane's certificates), util-linux (flock for go-tools.sh's lock, setpriv so a dead
# test runner takes etcd and kube-apiserver with it), ca-certificates (the Go module proxy over
# TLS). Checks that Go 1.24+ is there for go-tools.sh. Idempotent; needs root only to install.
set -euo pipefail

PACKAGES=(openssl util-linux ca-certificates)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ "$(id -u)" != "0" ]]; then
    echo "e2e/infra/install-deps.sh: missing ${missing[*]}; run as root (sudo $0) to install them" >&2
    exit 1
  fi
  echo "e2e/infra/install-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  lists=(/var/lib/apt/lists/*_Packages*)
  if [[ ! -e "${lists[0]}" ]] || [[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin +1440 -print -quit)" ]]; then
    apt-get update -q
  fi
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  echo "e2e/infra/install-deps.sh: openssl, util-linux and ca-certificates present"
fi

if ! command -v go >/dev/null 2>&1; then
  echo "e2e/infra/install-deps.sh: go is not on PATH; go-tools.sh builds the control plane with Go 1.24 or newer: install it (https://go.dev/doc/install) and run again" >&2
  exit 1
fi
echo "e2e/infra/install-deps.sh: $(go version)"

#!/bin/bash
# go-bin.sh NAME MODULE@VERSION PKG... : builds the packages of a published Go module (a throwaway
# wrapper module requires MODULE@VERSION; every dependency comes from the Go module proxy) into
# $NETMAP_CACHE/kind/bin/NAME-<key>/, cached by the inputs. Prints that directory.
# Environment: GO_TAGS (build tags), GO_LDFLAGS (extra -ldflags), CGO_ENABLED (default 0),
# GO_GET_EXTRA ("module@version ...": dependencies raised to versions the module proxy serves when
# the ones MODULE asks for are not served).
# The Kubernetes binaries are not built here: e2e/infra/go-tools.sh builds them.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
name="${1:?usage: go-bin.sh NAME MODULE@VERSION PKG...}"
modver="${2:?usage: go-bin.sh NAME MODULE@VERSION PKG...}"
shift 2
[ $# -gt 0 ] || die "go-bin.sh: name at least one package of $modver"
command -v go >/dev/null || die "go is not on PATH: install Go 1.24+ (this machine has /usr/local/go/bin)"

export CGO_ENABLED="${CGO_ENABLED:-0}"
export GOMODCACHE="$NETMAP_CACHE/go/mod" GOCACHE="$NETMAP_CACHE/go/build" GOFLAGS=-mod=mod GOTOOLCHAIN=local
KEY_EXTRA="$modver $* ${GO_GET_EXTRA:-} ${GO_TAGS:-} ${GO_LDFLAGS:-} $CGO_ENABLED $(go env GOVERSION)" key="$(key_of "$0")"
out="$NETMAP_CACHE/kind/bin/$name-$key"
if [ -f "$out/.done" ]; then
  log "$name: cached ($out)"
  echo "$out"
  exit 0
fi
mkdir -p "$NETMAP_CACHE/kind/bin" "$NETMAP_CACHE/kind/wrap" "$NETMAP_CACHE/logs"
wrap="$NETMAP_CACHE/kind/wrap/$name-$key"
logf="$NETMAP_CACHE/logs/kind-$name.log"
rm -rf "$wrap" "$out.tmp"
mkdir -p "$wrap" "$out.tmp"
start=$(date +%s)
log "$name: building ${*} from $modver (log $logf)"
# (`&&` and `|| exit`: errexit does not hold inside a subshell whose status `||` tests.)
(
  cd "$wrap" &&
    go mod init netmap.local/kind-wrap/"$name" &&
    go get "$modver" ${GO_GET_EXTRA:-} || exit 1
  for pkg in "$@"; do
    go build -trimpath ${GO_TAGS:+-tags "$GO_TAGS"} -ldflags "-s -w ${GO_LDFLAGS:-}" -o "$out.tmp/" "$pkg" || exit 1
  done
) >"$logf" 2>&1 || { tail -n 25 "$logf" >&2; die "$name did not build from $modver; read $logf (a version the module proxy does not serve? disk space under $NETMAP_CACHE?)"; }
touch "$out.tmp/.done"
rm -rf "$out"
mv "$out.tmp" "$out"
log "$name: built in $(($(date +%s) - start)) s: $(cd "$out" && ls | tr '\n' ' ')"
echo "$out"

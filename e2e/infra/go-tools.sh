#!/usr/bin/env bash
# Builds netmap's pinned Go tools (the Kubernetes binaries, etcd, helm, kind) from their published
# Go modules into $NETMAP_CACHE/bin, with the Go module and build caches under $NETMAP_CACHE/go, so
# a second run is instant. No container registry, no prebuilt binary: only the Go module proxy.
#
#   e2e/infra/go-tools.sh [tool ...]   build what is missing or stale, print "<tool> <absolute path>"
#                                      per tool on stdout (no tool: kube-apiserver kubectl etcd helm)
#   e2e/infra/go-tools.sh --versions   print the pins
#   e2e/infra/go-tools.sh --list       print the tools it can build
#
# Tools: kube-apiserver kubectl etcd helm kubelet kubeadm kube-proxy kube-controller-manager
#        kube-scheduler kind
#
# Progress goes to stderr, each build's output to $NETMAP_CACHE/logs/<tool>.log. A stamp per binary
# records its pin and build recipe: changing a pin (or the Go version) rebuilds that binary. One
# tool is built at a time, and a lock lets concurrent callers (the test setup, the kind scripts)
# share one cache.
set -euo pipefail

# ---- pins ---------------------------------------------------------------------------------------
# Kubernetes 1.33: this machine has cgroup v1 only (1.35 refuses it), and v1.33.13 is the newest
# 1.33 patch whose staging modules the module proxy serves at the matching v0.33.13.
KUBERNETES_VERSION=v1.33.13
KUBERNETES_STAGING_VERSION=v0.33.13
ETCD_VERSION=v3.5.27
# Helm 3, not 4: the chart must install with the Helm most clusters and CI pipelines run today, and
# a chart that Helm 3 renders and installs also works with Helm 4, not always the other way round
# (Helm 4 changed plugins and defaults, e.g. server-side apply); v3.21.4 is the newest 3.x the module
# proxy serves.
HELM_VERSION=v3.21.4
KIND_VERSION=v0.30.0
# Bump when the way a binary is built changes (flags, ldflags), so every stamp goes stale.
RECIPE=1

KUBERNETES_TOOLS=(kube-apiserver kubectl kubelet kubeadm kube-proxy kube-controller-manager kube-scheduler)
DEFAULT_TOOLS=(kube-apiserver kubectl etcd helm)
ALL_TOOLS=("${KUBERNETES_TOOLS[@]}" etcd helm kind)

NETMAP_CACHE="${NETMAP_CACHE:-/var/cache/netmap}"
BIN_DIR="$NETMAP_CACHE/bin"
STAMP_DIR="$BIN_DIR/.stamps"
LOG_DIR="$NETMAP_CACHE/logs"
GO_DIR="$NETMAP_CACHE/go"
WRAP_DIR="$GO_DIR/wrap"

log() { printf '[go-tools] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
}

print_versions() {
  printf 'kubernetes %s (staging modules %s)\n' "$KUBERNETES_VERSION" "$KUBERNETES_STAGING_VERSION"
  printf 'etcd %s\n' "$ETCD_VERSION"
  printf 'helm %s\n' "$HELM_VERSION"
  printf 'kind %s\n' "$KIND_VERSION"
}

is_kubernetes_tool() {
  local t
  for t in "${KUBERNETES_TOOLS[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  return 1
}

is_known_tool() {
  local t
  for t in "${ALL_TOOLS[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  return 1
}

# The module version a tool is pinned to, and a cold-build estimate on 2 cores for the progress line.
tool_version() {
  case "$1" in
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    kind) echo "$KIND_VERSION" ;;
    *) echo "$KUBERNETES_VERSION" ;;
  esac
}

cold_estimate() {
  case "$1" in
    kube-apiserver) echo "~6 min" ;;
    kube-controller-manager | kubelet) echo "~3 min" ;;
    helm) echo "~2 min" ;;
    kind) echo "~30 s" ;;
    *) echo "~1 min" ;;
  esac
}

setup_go() {
  command -v go >/dev/null 2>&1 ||
    die "go is not on PATH: install Go 1.24 or newer (e.g. apt-get install golang-1.24 or https://go.dev/dl) and run again"
  local v
  v="$(go env GOVERSION)"
  local minor="${v#go1.}"
  minor="${minor%%.*}"
  [[ "$minor" =~ ^[0-9]+$ && "$minor" -ge 24 ]] ||
    die "$v is too old: the pinned modules need Go 1.24 or newer; install a newer Go and run again"
  # Only the module proxy: never fall back to fetching from VCS hosts directly.
  local proxy
  proxy="$(go env GOPROXY)"
  proxy="${proxy%,direct}"
  proxy="${proxy%|direct}"
  [[ -z "$proxy" || "$proxy" == direct ]] && proxy="https://proxy.golang.org"
  export GOPROXY="$proxy"
  export GOMODCACHE="$GO_DIR/mod" GOCACHE="$GO_DIR/build" GOPATH="$GO_DIR/path"
  export GOTOOLCHAIN=local GOFLAGS="-modcacherw" CGO_ENABLED=0
  GO_VERSION="$v"
}

# ---- wrapper modules ----------------------------------------------------------------------------
# Each family of tools is built from a small wrapper module in the cache that requires the pinned
# module and names the tools with `tool` directives; `go mod tidy` resolves it once.

# Kubernetes: k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
# ./staging/...; the wrapper replaces each with its published version instead.
write_kubernetes_gomod() {
  local dir="$1" gomod_file
  gomod_file="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$gomod_file" ]] || die "could not download k8s.io/kubernetes@$KUBERNETES_VERSION's go.mod from $GOPROXY"
  local staging
  # sample-* are examples, not served at every version, and not needed for any binary here.
  staging="$(sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod_file" | grep -v '^k8s.io/sample-')"
  [[ -n "$staging" ]] || die "no staging replace block found in $gomod_file"
  {
    printf 'module netmap.local/go-tools/kubernetes\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    local m
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$KUBERNETES_STAGING_VERSION"; done
    printf ')\n\ntool (\n'
    local t
    for t in "${KUBERNETES_TOOLS[@]}"; do printf '\tk8s.io/kubernetes/cmd/%s\n' "$t"; done
    printf ')\n'
  } >"$dir/go.mod"
}

write_simple_gomod() {
  local dir="$1" module="$2" version="$3" pkg="$4"
  printf 'module netmap.local/go-tools/%s\n\ngo 1.24\n\nrequire %s %s\n\ntool %s\n' \
    "$(basename "$dir")" "$module" "$version" "$pkg" >"$dir/go.mod"
}

family() {
  case "$1" in
    etcd | helm | kind) echo "$1" ;;
    *) echo kubernetes ;;
  esac
}

# Prints the wrapper module's directory, creating and resolving it if needed.
wrapper_module() {
  local fam="$1" version dir
  version="$(tool_version "$([[ "$fam" == kubernetes ]] && echo kubectl || echo "$fam")")"
  dir="$WRAP_DIR/$fam-$version-r$RECIPE"
  if [[ ! -f "$dir/.ready" ]]; then
    local tmp="$dir.tmp.$$" logf="$LOG_DIR/$fam-module.log"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    log "resolving the $fam $version module graph (go mod tidy; cold: under a minute)…"
    case "$fam" in
      kubernetes) write_kubernetes_gomod "$tmp" ;;
      etcd) write_simple_gomod "$tmp" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 ;;
      helm) write_simple_gomod "$tmp" helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm ;;
      kind) write_simple_gomod "$tmp" sigs.k8s.io/kind "$KIND_VERSION" sigs.k8s.io/kind ;;
    esac
    if ! (cd "$tmp" && go mod tidy) >"$logf" 2>&1; then
      log "FAILED: resolving the $fam $version module graph; log: $logf; its last lines:"
      tail -n 20 "$logf" >&2
      die "check that the module proxy ($GOPROXY) serves these versions (see the pins with --versions)"
    fi
    touch "$tmp/.ready"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  echo "$dir"
}

# ---- one tool -----------------------------------------------------------------------------------

package_of() {
  case "$1" in
    etcd) echo go.etcd.io/etcd/server/v3 ;;
    helm) echo helm.sh/helm/v3/cmd/helm ;;
    kind) echo sigs.k8s.io/kind ;;
    *) echo "k8s.io/kubernetes/cmd/$1" ;;
  esac
}

# The version ldflags each project's own release build sets.
version_ldflags() {
  local tool="$1"
  case "$tool" in
    etcd) ;; # etcd's version is a constant in go.etcd.io/etcd/api/v3/version
    helm) printf -- '-X helm.sh/helm/v3/internal/version.version=%s -X helm.sh/helm/v3/internal/version.gitTreeState=clean' "$HELM_VERSION" ;;
    kind) ;; # kind's version is a constant in sigs.k8s.io/kind/pkg/cmd/kind/version
    *)
      local v="$KUBERNETES_VERSION" major minor date info
      major="${v#v}"
      major="${major%%.*}"
      minor="${v#v*.}"
      minor="${minor%%.*}"
      # The release's own date (from the module proxy's .info) keeps the binary reproducible.
      info="$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$v.info"
      date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)"
      date="${date:-1970-01-01T00:00:00Z}"
      local pkg
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        printf -- '-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=%s ' \
          "$pkg" "$v" "$pkg" "$major" "$pkg" "$minor" "$pkg" "$pkg" "$date"
      done
      ;;
  esac
}

stamp_of() {
  local tool="$1"
  printf 'tool=%s package=%s version=%s go=%s recipe=%s\n' \
    "$tool" "$(package_of "$tool")" "$(tool_version "$tool")" "$GO_VERSION" "$RECIPE"
}

fmt_duration() {
  local s="$1"
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

is_fresh() {
  local tool="$1" stamp_file="$STAMP_DIR/$1"
  [[ -x "$BIN_DIR/$tool" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$(stamp_of "$tool")" ]]
}

build_tool() {
  local tool="$1" out="$BIN_DIR/$1" stamp_file="$STAMP_DIR/$1" want
  want="$(stamp_of "$tool")"
  is_fresh "$tool" && return 0
  local version fam dir logf="$LOG_DIR/$tool.log" start
  version="$(tool_version "$tool")"
  fam="$(family "$tool")"
  dir="$(wrapper_module "$fam")"
  if [[ -x "$out" ]]; then
    log "rebuilding $tool $version (its stamp differs from the pin)…"
  else
    log "building $tool $version (cold: $(cold_estimate "$tool"); log: $logf)…"
  fi
  start=$SECONDS
  local ldflags
  ldflags="-s -w $(version_ldflags "$tool")"
  (cd "$dir" && exec go build -v -trimpath -ldflags "$ldflags" -o "$out.tmp" "$(package_of "$tool")") >"$logf" 2>&1 &
  local pid=$! next=60
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if ((SECONDS - start >= next)); then
      log "  still building $tool: $(fmt_duration $((SECONDS - start))), $(wc -l <"$logf") packages compiled so far"
      next=$((next + 60))
    fi
  done
  if ! wait "$pid"; then
    rm -f "$out.tmp"
    log "FAILED: building $tool $version; log: $logf; its last lines:"
    tail -n 20 "$logf" >&2
    die "$tool did not build; read $logf, fix the cause (a pin the module proxy does not serve, disk space under $NETMAP_CACHE, the Go version) and run again"
  fi
  mv -f "$out.tmp" "$out"
  printf '%s\n' "$want" >"$stamp_file"
  log "built $tool $version in $(fmt_duration $((SECONDS - start))) ($(du -m "$out" | cut -f1) MB): $out"
}

main() {
  local tools=()
  while (($#)); do
    case "$1" in
      --versions)
        print_versions
        return 0
        ;;
      --list)
        printf '%s\n' "${ALL_TOOLS[@]}"
        return 0
        ;;
      -h | --help)
        usage
        return 0
        ;;
      -*) die "unknown option $1 (see --help)" ;;
      *)
        is_known_tool "$1" || die "unknown tool '$1': known tools are ${ALL_TOOLS[*]}"
        tools+=("$1")
        ;;
    esac
    shift
  done
  ((${#tools[@]})) || tools=("${DEFAULT_TOOLS[@]}")

  mkdir -p "$BIN_DIR" "$STAMP_DIR" "$LOG_DIR" "$WRAP_DIR" ||
    die "cannot create $NETMAP_CACHE: set NETMAP_CACHE to a writable directory (it needs about 5 GB) and run again"
  setup_go

  local t start=$SECONDS stale=()
  for t in "${tools[@]}"; do is_fresh "$t" || stale+=("$t"); done
  if ((${#stale[@]})); then
    # One builder at a time per cache (the test setup and the kind scripts may run together); a
    # caller whose tools are all fresh never waits for it (binaries are replaced atomically).
    exec 9>"$NETMAP_CACHE/go-tools.lock"
    if ! flock -n 9; then
      log "another go-tools.sh is building into $NETMAP_CACHE; waiting for it (at most 60 min) to build ${stale[*]}…"
      flock -w 3600 9 || die "timed out after 60 min waiting for the lock $NETMAP_CACHE/go-tools.lock"
    fi
  fi
  for t in "${tools[@]}"; do build_tool "$t"; done
  for t in "${tools[@]}"; do printf '%s %s\n' "$t" "$(cd "$BIN_DIR" && pwd -P)/$t"; done
  log "ready: ${tools[*]} ($(fmt_duration $((SECONDS - start))))"
}

# On one line: bash reads a script as it runs, so nothing after this may be read once main returns
# (an edit to this file during a long build cannot make a running copy execute stray text).
main "$@"; exit $?

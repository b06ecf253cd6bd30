# Shared by e2e/kind's scripts: paths, pinned versions, progress lines, content-keyed caches.
# Source it; it sets no shell options of its own.

KIND_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KIND_DIR/../.." && pwd)"
export NETMAP_CACHE="${NETMAP_CACHE:-/var/cache/netmap}"
# Our private Docker engine (docker/up.sh). Everything of ours talks to it, never to another one.
NETMAP_DOCKER_RUN="${NETMAP_DOCKER_RUN:-/run/netmap-docker}"
export DOCKER_HOST="${NETMAP_DOCKER_HOST:-unix://$NETMAP_DOCKER_RUN/docker.sock}"

# Pinned versions (shared with e2e/infra/go-tools.sh, which builds the Kubernetes binaries).
K8S_VERSION="v1.33.13"
KIND_VERSION="v0.30.0"
ETCD_VERSION="v3.5.27"
# kubeadm v1.33's own pins (cmd/kubeadm/app/constants), the names `kubeadm config images list`
# prints. Not etcd: kubeadm asks for 3.5.24-0, which the module proxy does not serve; the etcd image
# carries go-tools.sh's etcd under its own version, and the offline kind configs tell kubeadm so
# (ClusterConfiguration etcd.local.imageTag).
COREDNS_VERSION="v1.12.0"
PAUSE_VERSION="3.10"
CONTAINERD_VERSION="v1.7.35"
FLANNEL_VERSION="v0.28.4"
# The flannel CNI plugin: flannel-io/cni-plugin is not served by the module proxy; its upstream,
# containernetworking/plugins' plugins/meta/flannel (removed after v0.9.1), is.
FLANNEL_CNI_VERSION="v0.9.1"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# key_of FILE... : a short hash of the files' contents and of any extra words in $KEY_EXTRA.
key_of() {
  { cat "$@"; printf '%s' "${KEY_EXTRA:-}"; } | sha256sum | cut -c1-16
}

need_root() { [ "$(id -u)" = 0 ] || die "$0 needs root (it runs dockerd, debootstrap and chroot)"; }

# apt_install PKG... : installs the Debian packages that are missing (one apt-get update first).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
# kind v0.30.0's default CNI image (pkg/build/nodeimage/const_cni.go).
KINDNETD_IMAGE="docker.io/kindest/kindnetd:v20250512-df8de77b"

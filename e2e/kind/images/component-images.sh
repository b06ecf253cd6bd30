#!/bin/bash
# component-images.sh : builds, with nothing pulled, every image a kind cluster here runs, into the
# private dockerd and as archives under $NETMAP_CACHE/kind/images (the node image imports those):
#
#   registry.k8s.io/kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy:$K8S_VERSION
#   registry.k8s.io/etcd:<etcd>-0, registry.k8s.io/coredns/coredns:$COREDNS_VERSION,
#   registry.k8s.io/pause:$PAUSE_VERSION                         (the names kubeadm asks for)
#   ghcr.io/flannel-io/flannel:$FLANNEL_VERSION                  (the name flannel's manifest uses)
#   netmap.local/flannel-cni-plugin:<version>                    (see FLANNEL_CNI_VERSION in lib.sh)
#   docker.io/kindest/kindnetd:<tag>                             (only if a kindnetd binary is given)
#
# Binaries: the Kubernetes ones and etcd from e2e/infra/go-tools.sh; CoreDNS, flanneld and the
# flannel CNI plugin from their Go modules (go-bin.sh); pause compiled from Kubernetes' pause.c.
# The kube-proxy, flannel and kindnetd images are a Debian root filesystem with iptables (nf_tables
# and legacy, picked like the node does: iptables-wrapper), nftables and conntrack.
# Prints "<image> <archive>" lines on stdout.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need_root
docker info >/dev/null 2>&1 || die "no Docker engine at $DOCKER_HOST: run e2e/kind/docker/up.sh first"
IMG_DIR="$NETMAP_CACHE/kind/images"
mkdir -p "$IMG_DIR"
apt_install gcc libc6-dev binutils

# ---- binaries -------------------------------------------------------------------------------------
declare -A BIN
tools_out="$("$REPO_ROOT/e2e/infra/go-tools.sh" kubelet kubeadm kubectl kube-proxy kube-apiserver kube-controller-manager kube-scheduler kind etcd)" ||
  die "go-tools.sh failed (above)"
while read -r tool path; do BIN[$tool]="$path"; done <<<"$tools_out"
for t in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd; do
  [ -x "${BIN[$t]:-}" ] || die "go-tools.sh printed no path for $t"
done
etcd_version="$("${BIN[etcd]}" --version | sed -n 's/^etcd Version: //p')"
[ -n "$etcd_version" ] || die "cannot read the version of ${BIN[etcd]}"
ETCD_IMAGE_TAG="$etcd_version-0"

coredns_dir="$("$KIND_DIR/images/go-bin.sh" coredns "github.com/coredns/coredns@$COREDNS_VERSION" github.com/coredns/coredns)"
# flannel asks for tencentcloud-sdk-go's common v1.3.79, which the module proxy does not serve; v1.3.103 is.
# Its UDP backend needs cgo on amd64: static, as flannel's Makefile builds it.
flanneld_dir="$(CGO_ENABLED=1 GO_LDFLAGS="-X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION -extldflags -static" \
  GO_GET_EXTRA="github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common@v1.3.103" \
  "$KIND_DIR/images/go-bin.sh" flanneld "github.com/flannel-io/flannel@$FLANNEL_VERSION" github.com/flannel-io/flannel)"
flannel_cni_dir="$("$KIND_DIR/images/go-bin.sh" flannel-cni "github.com/containernetworking/plugins@$FLANNEL_CNI_VERSION" \
  github.com/containernetworking/plugins/plugins/meta/flannel)"

# pause: Kubernetes' own pause.c, static, from the kubernetes module go-tools.sh downloaded.
pause_src="$NETMAP_CACHE/go/mod/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
[ -f "$pause_src" ] || die "no $pause_src: go-tools.sh should have downloaded k8s.io/kubernetes@$K8S_VERSION"
pause_bin="$NETMAP_CACHE/kind/bin/pause-$PAUSE_VERSION-$(KEY_EXTRA="$PAUSE_VERSION" key_of "$pause_src")"
if [ ! -x "$pause_bin" ]; then
  log "pause: compiling $pause_src (static)"
  gcc -Os -static -Wall -Werror -DVERSION="v$PAUSE_VERSION-netmap" -o "$pause_bin.tmp" "$pause_src"
  strip "$pause_bin.tmp"
  mv "$pause_bin.tmp" "$pause_bin"
fi

# ---- image helpers --------------------------------------------------------------------------------
# The iptables root filesystem, imported once as a base for the images that run iptables.
iptables_rootfs="$("$KIND_DIR/images/rootfs.sh" kind-iptables iptables,nftables,conntrack,ipset,iproute2,ca-certificates)"

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/kind-images.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
OUT_LINES=()

# build_image REF KEY DIR BASE-ROOTFS|"" CHANGE... : imports DIR (over BASE-ROOTFS when given) as REF,
# labelled with KEY; skipped when REF already carries KEY and its archive exists. Saves the archive.
build_image() {
  local ref="$1" key="$2" dir="$3" base="$4"
  shift 4
  local archive="$IMG_DIR/$(echo "$ref" | tr '/:' '__')-$key.tar"
  if [ -f "$archive" ] && [ "$(docker image inspect --format '{{index .Config.Labels "netmap.key"}}' "$ref" 2>/dev/null)" = "$key" ]; then
    log "image $ref: cached"
  else
    local tree="$STAGE/tree" changes=()
    rm -rf "$tree"
    mkdir -p "$tree"
    if [ -n "$base" ]; then tar -xf "$base" -C "$tree"; fi
    cp -a "$dir/." "$tree/"
    for c in "$@"; do changes+=(--change "$c"); done
    tar --numeric-owner -C "$tree" -c . | docker import "${changes[@]}" --change "LABEL netmap.key=$key" - "$ref" >/dev/null
    rm -rf "$tree"
    rm -f "$IMG_DIR/$(echo "$ref" | tr '/:' '__')"-*.tar
    docker save -o "$archive.tmp" "$ref"
    mv "$archive.tmp" "$archive"
    log "image $ref: built, $(du -h "$archive" | cut -f1)"
  fi
  OUT_LINES+=("$ref $archive")
}

# A staging directory holding FILE at PATH-IN-IMAGE (mode 0755).
stage_bin() { # NAME SRC DEST...
  local d="$STAGE/$1"
  shift
  rm -rf "$d"
  while [ $# -ge 2 ]; do
    install -D -m 0755 "$1" "$d$2"
    shift 2
  done
  echo "$d"
}

# The iptables images: wrapper as iptables/ip6tables alternative (configured in a chroot).
iptables_layer() { # DIR : adds iptables-wrapper to DIR and the alternatives' links it needs
  local d="$1" root="$STAGE/iptables-root"
  if [ ! -d "$root" ]; then
    mkdir -p "$root"
    tar -xf "$iptables_rootfs" -C "$root"
    install -m 0755 "$KIND_DIR/images/iptables-wrapper" "$root/usr/sbin/iptables-wrapper"
    for v in iptables ip6tables; do
      chroot "$root" update-alternatives --quiet --install "/usr/sbin/$v" "$v" /usr/sbin/iptables-wrapper 200 \
        --slave "/usr/sbin/$v-restore" "$v-restore" /usr/sbin/iptables-wrapper \
        --slave "/usr/sbin/$v-save" "$v-save" /usr/sbin/iptables-wrapper
      chroot "$root" update-alternatives --quiet --set "$v" /usr/sbin/iptables-wrapper
    done
  fi
  mkdir -p "$d/usr/sbin" "$d/etc" "$d/var/lib/dpkg"
  cp -a "$root/usr/sbin/iptables-wrapper" "$d/usr/sbin/"
  cp -a "$root/etc/alternatives" "$d/etc/"
  cp -a "$root/var/lib/dpkg/alternatives" "$d/var/lib/dpkg/"
}

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
k() { KEY_EXTRA="$*" key_of "$0" "$KIND_DIR/lib.sh"; } # key of this script, lib.sh and the words
sum() { sha256sum "$1" | cut -c1-16; } # a binary's content (rebuilt but identical: same key)

# ---- the images -----------------------------------------------------------------------------------
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  d="$(stage_bin "$c" "${BIN[$c]}" "/usr/local/bin/$c")"
  build_image "registry.k8s.io/$c:$K8S_VERSION" "$(k "$c" "$(sum "${BIN[$c]}")")" "$d" "" \
    "$PATH_ENV" "ENTRYPOINT [\"/usr/local/bin/$c\"]"
done

d="$(stage_bin etcd "${BIN[etcd]}" /usr/local/bin/etcd)"
build_image "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "$(k etcd "$(sum "${BIN[etcd]}")")" "$d" "" \
  "$PATH_ENV" 'CMD ["/usr/local/bin/etcd"]'

d="$(stage_bin coredns "$coredns_dir/coredns" /coredns)"
build_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$(k coredns "$coredns_dir")" "$d" "" \
  'ENTRYPOINT ["/coredns"]' 'EXPOSE 53 53/udp'

d="$(stage_bin pause "$pause_bin" /pause)"
build_image "registry.k8s.io/pause:$PAUSE_VERSION" "$(k pause "$pause_bin")" "$d" "" \
  'ENTRYPOINT ["/pause"]' 'USER 65535:65535'

d="$(stage_bin kube-proxy "${BIN[kube-proxy]}" /usr/local/bin/kube-proxy)"
iptables_layer "$d"
build_image "registry.k8s.io/kube-proxy:$K8S_VERSION" \
  "$(k kube-proxy "$(sum "${BIN[kube-proxy]}")" "$iptables_rootfs" "$(key_of "$KIND_DIR/images/iptables-wrapper")")" \
  "$d" "$iptables_rootfs" "$PATH_ENV" 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]'

d="$(stage_bin flannel "$flanneld_dir/flannel" /opt/bin/flanneld)"
iptables_layer "$d"
build_image "ghcr.io/flannel-io/flannel:$FLANNEL_VERSION" \
  "$(k flannel "$flanneld_dir" "$iptables_rootfs" "$(key_of "$KIND_DIR/images/iptables-wrapper")")" \
  "$d" "$iptables_rootfs" "$PATH_ENV" 'ENTRYPOINT ["/opt/bin/flanneld"]'

# flannel's CNI plugin image only carries /flannel for the manifest's init container to copy (cp).
d="$(stage_bin flannel-cni "$flannel_cni_dir/flannel" /flannel)"
build_image "netmap.local/flannel-cni-plugin:$FLANNEL_CNI_VERSION" "$(k flannel-cni "$flannel_cni_dir" "$iptables_rootfs")" \
  "$d" "$iptables_rootfs" "$PATH_ENV"

# kindnetd: kind's images/kindnetd is a nested module that the Go module proxy does not serve, so it
# cannot be built from a registry here; a kindnetd binary built elsewhere from kind's source at the
# commit of KINDNETD_IMAGE's tag can be supplied (NETMAP_KINDNETD_BIN or the cache path below).
KINDNETD_BIN="${NETMAP_KINDNETD_BIN:-$NETMAP_CACHE/kind/kindnetd/kindnetd}"
if [ -x "$KINDNETD_BIN" ]; then
  # /usr/bin: bookworm's /bin is a link to it (kind's manifest runs the image's /bin/kindnetd).
  d="$(stage_bin kindnetd "$KINDNETD_BIN" /usr/bin/kindnetd)"
  iptables_layer "$d"
  build_image "$KINDNETD_IMAGE" "$(k kindnetd "$(sum "$KINDNETD_BIN")" "$iptables_rootfs")" \
    "$d" "$iptables_rootfs" "$PATH_ENV" 'ENTRYPOINT ["/bin/kindnetd"]'
else
  log "kindnetd: no binary at $KINDNETD_BIN: the offline kindnet network is not available (flannel is)"
fi

printf '%s\n' "${OUT_LINES[@]}"

#!/bin/bash
# node-image.sh : assembles a kind node image by hand, with nothing pulled, and prints its name.
# `kind build node-image` cannot be used here: it pulls images. What it makes, made here:
#   - a debootstrap bookworm root filesystem with Debian's systemd, runc, iptables (nf_tables and
#     legacy), nftables, conntrack and CNI plugins (bookworm: its systemd boots on cgroup v1);
#   - kind $KIND_VERSION's base-image files (entrypoint, /kind/bin, containerd and kubelet units,
#     containerd config) and the same systemd adjustments as kind's base Dockerfile, taken from the
#     sigs.k8s.io/kind module (the Go module proxy serves it; go-tools.sh downloads it);
#   - containerd $CONTAINERD_VERSION built from its Go module (Debian's 1.6.20 is older than
#     Kubernetes 1.33 supports);
#   - kubelet, kubeadm, kubectl from e2e/infra/go-tools.sh, /kind/version, kind's default CNI
#     manifest (kindnet) at /kind/manifests/default-cni.yaml;
#   - every image of component-images.sh imported into the node's containerd (namespace k8s.io)
#     under the names kubeadm and the manifests use; checked against `kubeadm config images list`.
# Cached by its inputs: a second run with the same inputs only checks the image is there.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need_root
docker info >/dev/null 2>&1 || die "no Docker engine at $DOCKER_HOST: run e2e/kind/docker/up.sh first"

# ---- inputs -------------------------------------------------------------------------------------
declare -A BIN
tools_out="$("$REPO_ROOT/e2e/infra/go-tools.sh" kubelet kubeadm kubectl kind etcd)" || die "go-tools.sh failed (above)"
while read -r tool path; do BIN[$tool]="$path"; done <<<"$tools_out"
containerd_dir="$(GO_TAGS="no_btrfs no_devmapper no_zfs" \
  GO_LDFLAGS="-X github.com/containerd/containerd/version.Version=$CONTAINERD_VERSION -X github.com/containerd/containerd/version.Revision=go-module" \
  "$KIND_DIR/images/go-bin.sh" containerd "github.com/containerd/containerd@$CONTAINERD_VERSION" \
  github.com/containerd/containerd/cmd/containerd github.com/containerd/containerd/cmd/ctr \
  github.com/containerd/containerd/cmd/containerd-shim-runc-v2)"
images_out="$("$KIND_DIR/images/component-images.sh")" || die "component-images.sh failed (above)"
mapfile -t IMAGES <<<"$images_out"
[ ${#IMAGES[@]} -ge 7 ] || die "component-images.sh gave only ${#IMAGES[@]} images"
node_rootfs="$("$KIND_DIR/images/rootfs.sh" kind-node \
  systemd,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,curl,jq,procps,runc,containernetworking-plugins,socat,ipset,iputils-ping,tcpdump)"
KIND_MOD="$NETMAP_CACHE/go/mod/sigs.k8s.io/kind@$KIND_VERSION"
[ -d "$KIND_MOD/images/base/files" ] || die "no $KIND_MOD/images/base/files: go-tools.sh kind should have downloaded the sigs.k8s.io/kind module"

key="$(KEY_EXTRA="$(printf '%s\n' "${IMAGES[@]}") $containerd_dir $node_rootfs $(for t in kubelet kubeadm kubectl; do sha256sum "${BIN[$t]}"; done)" \
  key_of "$0" "$KIND_DIR/lib.sh")"
NODE_IMAGE="netmap.local/kind-node:$K8S_VERSION-$key"
if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  log "node image $NODE_IMAGE: cached"
  echo "$NODE_IMAGE"
  exit 0
fi
start=$(date +%s)

# ---- root filesystem ----------------------------------------------------------------------------
STAGE="$(mktemp -d "$NETMAP_CACHE/kind/.node.XXXXXX")"
CTRD_STATE="$(mktemp -d /run/netmap-kind-containerd.XXXXXX)"
cleanup() {
  [ -n "${CTRD_PID:-}" ] && kill "$CTRD_PID" 2>/dev/null && wait "$CTRD_PID" 2>/dev/null
  rm -rf "$STAGE" "$CTRD_STATE"
}
trap cleanup EXIT
R="$STAGE/root"
mkdir -p "$R"
log "node image: unpacking $node_rootfs"
tar -xf "$node_rootfs" -C "$R"

log "node image: kind $KIND_VERSION base files and systemd set-up"
F="$KIND_MOD/images/base/files"
install -m 0755 "$F"/usr/local/bin/* "$R/usr/local/bin/"
mkdir -p "$R/kind/bin" "$R/LICENSES" "$R/etc/containerd" "$R/etc/default" "$R/etc/sysctl.d" \
  "$R/etc/systemd/system/kubelet.service.d" "$R/etc/kubernetes/manifests" "$R/kind/manifests"
install -m 0644 "$F"/kind/README.txt "$R/kind/"
install -m 0755 "$F"/kind/bin/* "$R/kind/bin/"
install -m 0644 "$F"/LICENSES/* "$R/LICENSES/"
install -m 0644 "$F"/etc/crictl.yaml "$R/etc/"
install -m 0644 "$F"/etc/containerd/* "$R/etc/containerd/"
# The node has no CAP_SYS_RESOURCE here (docker/runc-shim), so nothing in it may lower an
# oom_score_adj below its own: containerd must clamp the scores the kubelet asks for (kube-system
# pods ask for -997) instead of failing every sandbox with runc's "can't get final child's PID from
# pipe". The setting kind's entrypoint turns on for rootless nodes, for the same reason.
sed -i 's/^\( *restrict_oom_score_adj = \)false/\1true/' "$R/etc/containerd/config.toml"
grep -q '^ *restrict_oom_score_adj = true' "$R/etc/containerd/config.toml" || die "could not set restrict_oom_score_adj in kind's containerd config"
install -m 0644 "$F"/etc/default/* "$R/etc/default/"
install -m 0644 "$F"/etc/sysctl.d/* "$R/etc/sysctl.d/"
find "$F/etc/systemd/system" -maxdepth 1 -type f -exec install -m 0644 {} "$R/etc/systemd/system/" \;
install -m 0644 "$F"/etc/systemd/system/kubelet.service.d/* "$R/etc/systemd/system/kubelet.service.d/"
# As kind's base Dockerfile does after installing its packages.
find "$R/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$R"/lib/systemd/system/multi-user.target.wants/* "$R"/etc/systemd/system/*.wants/* \
  "$R"/lib/systemd/system/local-fs.target.wants/* "$R"/lib/systemd/system/sockets.target.wants/*udev* \
  "$R"/lib/systemd/system/sockets.target.wants/*initctl* "$R"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$R/etc/systemd/journald.conf"
ln -sf /lib/systemd/systemd "$R/sbin/init"
chroot "$R" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
chroot "$R" systemctl mask systemd-binfmt.service >/dev/null 2>&1
[ -L "$R/etc/systemd/system/multi-user.target.wants/containerd.service" ] || die "systemctl enable did not enable containerd in the node root filesystem"

log "node image: containerd $CONTAINERD_VERSION, Debian's runc and CNI plugins, Kubernetes $K8S_VERSION binaries"
install -m 0755 "$containerd_dir"/containerd "$containerd_dir"/ctr "$containerd_dir"/containerd-shim-runc-v2 "$R/usr/local/bin/"
"$containerd_dir/ctr" oci spec |
  jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
  jq 'del(.process.rlimits)' >"$R/etc/containerd/cri-base.json"
mkdir -p "$R/opt/cni/bin"
cp -a "$R"/usr/lib/cni/* "$R/opt/cni/bin/"
for t in kubelet kubeadm kubectl; do install -m 0755 "${BIN[$t]}" "$R/usr/bin/$t"; done
echo "$K8S_VERSION" >"$R/kind/version"
# kind's default CNI (kindnet) manifest, a template kind fills in at cluster creation.
sed -n '/^const defaultCNIManifest = `/,/^`$/p' "$KIND_MOD/pkg/build/nodeimage/const_cni.go" | sed '1d;$d' |
  sed "s|\` + kindnetdImage + \`|$KINDNETD_IMAGE|" >"$R/kind/manifests/default-cni.yaml"
grep -q "image: $KINDNETD_IMAGE" "$R/kind/manifests/default-cni.yaml" || die "could not extract kind's default CNI manifest from $KIND_MOD"

# ---- images into the node's containerd ------------------------------------------------------------
log "node image: importing ${#IMAGES[@]} images into the node's containerd (namespace k8s.io)"
cat >"$CTRD_STATE/config.toml" <<TOML
version = 2
root = "$R/var/lib/containerd"
state = "$CTRD_STATE/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_STATE/containerd.sock"
TOML
"$containerd_dir/containerd" --config "$CTRD_STATE/config.toml" >"$CTRD_STATE/containerd.log" 2>&1 &
CTRD_PID=$!
CTR=("$containerd_dir/ctr" --address "$CTRD_STATE/containerd.sock" -n k8s.io)
for _ in $(seq 1 50); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
"${CTR[@]}" version >/dev/null 2>&1 || { cat "$CTRD_STATE/containerd.log" >&2; die "the image-import containerd did not start"; }
for line in "${IMAGES[@]}"; do
  archive="${line#* }"
  "${CTR[@]}" images import --all-platforms --digests --no-unpack "$archive" >/dev/null
done
imported="$("${CTR[@]}" images list -q | grep -v '^sha256:' | sort)"
kill "$CTRD_PID"
wait "$CTRD_PID" 2>/dev/null || true
CTRD_PID=""
rm -rf "$R/var/lib/containerd/tmpmounts"
# Everything kubeadm will ask for must be there (etcd under the version the configs pin).
etcd_tag="$(printf '%s\n' "$imported" | sed -n 's|^registry.k8s.io/etcd:||p')"
while read -r want; do
  case "$want" in registry.k8s.io/etcd:*) want="registry.k8s.io/etcd:$etcd_tag" ;; esac
  grep -qxF "$want" <<<"$imported" || die "kubeadm needs $want, which is not among the images built: $imported"
done < <("${BIN[kubeadm]}" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
sandbox="$(sed -n 's/^ *sandbox_image = "\(.*\)"/\1/p' "$R/etc/containerd/config.toml")"
grep -qxF "$sandbox" <<<"$imported" || die "containerd's sandbox_image $sandbox was not imported"
printf '%s\n' "$imported" | sed 's/^/  /' >&2

# ---- the image ------------------------------------------------------------------------------------
log "node image: docker import ($(du -sh "$R" | cut -f1))"
tar --numeric-owner --xattrs -C "$R" -c . |
  docker import --change 'ENV container=docker' --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change "LABEL netmap.etcd-image-tag=$etcd_tag" - "$NODE_IMAGE-imported" >/dev/null
# docker 20.10 refuses STOPSIGNAL in `import --change`: one more layer-less build step sets it.
mkdir -p "$STAGE/build"
printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$NODE_IMAGE-imported" >"$STAGE/build/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$NODE_IMAGE" "$STAGE/build" >/dev/null 2>"$STAGE/build.log" ||
  { cat "$STAGE/build.log" >&2; die "docker build of the STOPSIGNAL layer failed"; }
docker rmi "$NODE_IMAGE-imported" >/dev/null
# Older node images and replaced layers of our own engine go (1.4 GB each); one in use stays.
docker images --format '{{.Repository}}:{{.Tag}}' netmap.local/kind-node | grep -vxF "$NODE_IMAGE" |
  xargs -r docker rmi >/dev/null 2>&1 || true
docker image prune -f >/dev/null
log "node image $NODE_IMAGE: $(docker image inspect --format '{{.Size}}' "$NODE_IMAGE" | numfmt --to=iec) in $(($(date +%s) - start)) s"
echo "$NODE_IMAGE"

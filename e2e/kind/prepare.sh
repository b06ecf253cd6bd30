#!/bin/bash
# prepare.sh offline|online : everything a kind e2e cluster needs, built or found, as KEY=VALUE
# lines on stdout (progress on stderr). The TypeScript harness (harness.ts) runs it once per mode.
#
#   offline: no image registry. Starts the private dockerd (docker/up.sh: Debian's docker.io with
#            the runc shim), assembles the node image and every component image locally
#            (images/node-image.sh), builds netmap's image with no base image pulled
#            (images/netmap-image.sh). Needs root, Go and the Debian mirror, the Go module proxy
#            and npm. Cold: see e2e/kind/README.md; every piece is cached under $NETMAP_CACHE.
#   online:  the ordinary way: the Docker engine of DOCKER_HOST (or the default one), kind's
#            published node image, flannel's and kindnet's published images pulled by the nodes,
#            netmap's image built from the root Dockerfile.
#
# Both: kind, kubectl and helm from e2e/infra/go-tools.sh (the Go module proxy), flannel's manifest
# from the flannel Go module (Documentation/kube-flannel.yml at the pinned version).
#
#   KIND=<path>  KUBECTL=<path>  HELM=<path>  DOCKER_HOST=<url>  NODE_IMAGE=<ref>  NETMAP_IMAGE=<ref>
#   FLANNEL_MANIFEST=<path>  ETCD_IMAGE_TAG=<tag, offline only>
#   KINDNETD_IMAGE=<ref, offline only, when kindnetd was built: the kindnet network needs it>
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mode="${1:?usage: prepare.sh offline|online}"
# kind v0.30.0's published node image for Kubernetes 1.33 (online mode).
ONLINE_NODE_IMAGE="kindest/node:v1.33.4"
start=$(date +%s)

declare -A BIN
tools_out="$("$REPO_ROOT/e2e/infra/go-tools.sh" kind kubectl helm)" || die "go-tools.sh failed (above)"
while read -r tool path; do BIN[$tool]="$path"; done <<<"$tools_out"
[ -x "${BIN[kind]:-}" ] && [ -x "${BIN[kubectl]:-}" ] && [ -x "${BIN[helm]:-}" ] || die "go-tools.sh did not give kind, kubectl and helm"

# flannel's manifest, from the flannel module at the pinned version.
flannel_mod="$(GOMODCACHE="$NETMAP_CACHE/go/mod" GOFLAGS=-mod=mod GOTOOLCHAIN=local \
  go mod download -json "github.com/flannel-io/flannel@$FLANNEL_VERSION" | jq -r .Dir)"
[ -f "$flannel_mod/Documentation/kube-flannel.yml" ] || die "no kube-flannel.yml in the flannel module at $flannel_mod"
mkdir -p "$NETMAP_CACHE/kind/manifests"
manifest="$NETMAP_CACHE/kind/manifests/kube-flannel-$FLANNEL_VERSION-$mode.yml"
upstream_cni_image="$(sed -n 's|^ *image: \(ghcr.io/flannel-io/flannel-cni-plugin:.*\)$|\1|p' "$flannel_mod/Documentation/kube-flannel.yml" | head -n1)"
grep -q "image: ghcr.io/flannel-io/flannel:$FLANNEL_VERSION\$" "$flannel_mod/Documentation/kube-flannel.yml" ||
  die "flannel's manifest does not name ghcr.io/flannel-io/flannel:$FLANNEL_VERSION"

case "$mode" in
  offline)
    need_root
    "$KIND_DIR/docker/up.sh" >/dev/null
    node_image="$("$KIND_DIR/images/node-image.sh")"
    netmap_image="$("$KIND_DIR/images/netmap-image.sh")"
    etcd_tag="$(docker image inspect --format '{{index .Config.Labels "netmap.etcd-image-tag"}}' "$node_image")"
    # The flannel CNI plugin here is containernetworking/plugins' flannel (see lib.sh), under its own name.
    sed "s|image: $upstream_cni_image\$|image: netmap.local/flannel-cni-plugin:$FLANNEL_CNI_VERSION|" \
      "$flannel_mod/Documentation/kube-flannel.yml" >"$manifest.tmp"
    mv "$manifest.tmp" "$manifest"
    echo "DOCKER_HOST=$DOCKER_HOST"
    echo "ETCD_IMAGE_TAG=$etcd_tag"
    # kindnetd is in the node image only if a binary was given (see images/component-images.sh).
    if docker image inspect "$KINDNETD_IMAGE" >/dev/null 2>&1; then echo "KINDNETD_IMAGE=$KINDNETD_IMAGE"; fi
    ;;
  online)
    unset DOCKER_HOST
    [ -n "${NETMAP_ONLINE_DOCKER_HOST:-}" ] && export DOCKER_HOST="$NETMAP_ONLINE_DOCKER_HOST"
    docker info >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default}): start Docker, or use offline mode"
    node_image="$ONLINE_NODE_IMAGE"
    netmap_image="netmap:dev"
    log "online: building $netmap_image from the root Dockerfile"
    docker build -q -t "$netmap_image" "$REPO_ROOT" >/dev/null
    cp "$flannel_mod/Documentation/kube-flannel.yml" "$manifest"
    echo "DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
    ;;
  *) die "usage: prepare.sh offline|online" ;;
esac
echo "KIND=${BIN[kind]}"
echo "KUBECTL=${BIN[kubectl]}"
echo "HELM=${BIN[helm]}"
echo "NODE_IMAGE=$node_image"
echo "NETMAP_IMAGE=$netmap_image"
echo "FLANNEL_MANIFEST=$manifest"
log "prepare $mode: ready in $(($(date +%s) - start)) s"

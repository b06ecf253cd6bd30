#!/bin/bash
# netmap-image.sh [TAG] : builds netmap's image (the root Dockerfile's image) with no base image
# pulled: a debootstrap bookworm root filesystem with the probe's tools, the Node 24 binary of the
# `node` npm package already in node_modules, and the built workspace (operator/*/dist,
# kubectl-plugin/dist and bin, production node_modules), imported with `docker import`.
# Needs the private dockerd (docker/up.sh) or any DOCKER_HOST. Prints the image reference.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need_root
TAG="${1:-netmap:dev}"
cd "$REPO_ROOT"

NODE_BIN="$REPO_ROOT/node_modules/node/bin/node"
[ -x "$NODE_BIN" ] || die "no Node binary at $NODE_BIN: run \`npm install\` at the repository root first"
node_version="$("$NODE_BIN" --version)"
case "$node_version" in v24.*) ;; *) die "node_modules/node is $node_version, not Node 24: run \`npm install\`" ;; esac

# The same tools as the Dockerfile's runtime stage.
rootfs="$("$KIND_DIR/images/rootfs.sh" netmap-base iproute2,iptables,nftables,ipset,conntrack,socat,ipvsadm,procps,ca-certificates)"

# Cached by the committed tree (not for a work-tree build): same HEAD tree, same image.
key=""
if [ "${NETMAP_IMAGE_SOURCE:-head}" != worktree ]; then
  # Only what the image is made of: the shipped workspaces, the manifests and the compiler settings.
  inputs="$(git -C "$REPO_ROOT" ls-tree HEAD operator kubectl-plugin package.json package-lock.json tsconfig.base.json)"
  KEY_EXTRA="$inputs $rootfs $node_version" key="$(key_of "$0")"
  if [ "$(docker image inspect --format '{{index .Config.Labels "netmap.key"}}' "$TAG" 2>/dev/null)" = "$key" ]; then
    log "netmap image $TAG: cached (its sources are unchanged since it was built)"
    echo "$TAG"
    exit 0
  fi
fi
start=$(date +%s)

stage="$(mktemp -d "${TMPDIR:-/tmp}/netmap-image.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
# The sources: the committed HEAD by default (a clean export, so nobody's half-done edit lands in
# the image), or the work tree as it is with NETMAP_IMAGE_SOURCE=worktree.
src="$REPO_ROOT"
if [ "${NETMAP_IMAGE_SOURCE:-head}" != worktree ]; then
  src="$stage/src"
  mkdir -p "$src"
  git -C "$REPO_ROOT" archive HEAD | tar -x -C "$src"
  log "netmap image: sources of $(git -C "$REPO_ROOT" rev-parse --short HEAD); installing the build's dependencies"
  (cd "$src" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
cd "$src"
shipped=()
for p in operator/*/ kubectl-plugin/; do
  if [ -f "$p/package.json" ]; then shipped+=("${p%/}"); fi
done
log "netmap image: building the shipped workspaces (${shipped[*]})"
"$NODE_BIN" node_modules/typescript/bin/tsc -b "${shipped[@]}"

app="$stage/app"
mkdir -p "$app"
cp package.json package-lock.json "$app/"
for p in "${shipped[@]}" e2e; do
  mkdir -p "$app/$p"
  cp "$p/package.json" "$app/$p/"
done
for p in "${shipped[@]}"; do
  cp -r "$p/dist" "$app/$p/"
  if [ -d "$p/bin" ]; then cp -r "$p/bin" "$app/$p/"; fi
done
# Drop the compiler's bookkeeping (dist holds no tests: the tsconfigs exclude them).
find "$app" -name '*.tsbuildinfo' -delete
ws_args=()
for p in "${shipped[@]}"; do ws_args+=(--workspace "$p"); done
log "netmap image: production dependencies (npm install --omit=dev)"
(cd "$app" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error "${ws_args[@]}" >/dev/null)
rm -rf "$app/e2e" "$app/node_modules/@netmap/e2e"

# The image's Node: the npm package's binary, debug info stripped.
mkdir -p "$stage/usr/local/bin"
objcopy --strip-debug "$NODE_BIN" "$stage/usr/local/bin/node" 2>/dev/null || cp "$NODE_BIN" "$stage/usr/local/bin/node"
chmod 0755 "$stage/usr/local/bin/node"

# The image's tree: the root filesystem, our files over it, a "netmap" user (uid 1000).
root="$stage/root"
mkdir -p "$root"
tar -xf "$rootfs" -C "$root"
mv "$app" "$root/app"
install -m 0755 "$stage/usr/local/bin/node" "$root/usr/local/bin/node"
echo 'netmap:x:1000:1000:netmap:/app:/usr/sbin/nologin' >>"$root/etc/passwd"
echo 'netmap:x:1000:' >>"$root/etc/group"
chown -R 0:0 "$root/app"

log "netmap image: docker import as $TAG"
docker import \
  --change 'ENV NODE_ENV=production PATH=/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'WORKDIR /app' \
  --change 'USER 1000:1000' \
  --change 'CMD ["node", "--version"]' \
  --change "LABEL netmap.key=$key" \
  - "$TAG" < <(tar --numeric-owner -C "$root" -c .) >/dev/null
docker image prune -f >/dev/null # the previous build's image, now untagged
log "netmap image: $TAG in $(($(date +%s) - start)) s, $(docker image inspect --format '{{.Size}}' "$TAG" | numfmt --to=iec) ($(docker run --rm "$TAG" node --version))"
echo "$TAG"

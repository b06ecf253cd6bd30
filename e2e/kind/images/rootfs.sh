#!/bin/bash
# rootfs.sh NAME PKG[,PKG...] : a Debian bookworm root filesystem (debootstrap minbase plus the
# packages) as a tarball, cached in $NETMAP_CACHE/rootfs by its inputs. Prints the tarball's path.
# No base image is pulled: the packages come from the machine's Debian mirror.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need_root
name="${1:?usage: rootfs.sh NAME PKG[,PKG...]}"
pkgs="${2:?usage: rootfs.sh NAME PKG[,PKG...]}"
MIRROR="${NETMAP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

KEY_EXTRA="$name $pkgs $MIRROR" key="$(key_of "$0")"
out="$NETMAP_CACHE/rootfs/$name-$key.tar"
if [ -f "$out" ]; then
  log "rootfs $name: cached ($out)"
  echo "$out"
  exit 0
fi
apt_install debootstrap
mkdir -p "$NETMAP_CACHE/rootfs"
dir="$(mktemp -d "$NETMAP_CACHE/rootfs/.$name.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
log "rootfs $name: debootstrap bookworm minbase + ${pkgs//,/ } (a few minutes)"
debootstrap --variant=minbase --include="$pkgs" bookworm "$dir" "$MIRROR" >"$dir.log" 2>&1 ||
  { tail -n 20 "$dir.log" >&2; die "debootstrap failed (log $dir.log); check that $MIRROR is reachable"; }
rm -f "$dir.log"
# Smaller: no apt lists or caches, no docs or man pages, no locales but C.
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
  "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*.log \
  "$dir"/usr/share/locale/*
# debootstrap copies the host's resolv.conf and hostname; a container gets its own.
: >"$dir/etc/resolv.conf"
: >"$dir/etc/hostname"
tar --numeric-owner --xattrs -C "$dir" -cf "$out.tmp" .
mv "$out.tmp" "$out"
log "rootfs $name: $(du -h "$out" | cut -f1) at $out"
echo "$out"

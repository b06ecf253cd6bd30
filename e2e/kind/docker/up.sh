#!/bin/bash
# Starts netmap's private Docker engine for the offline kind e2e (idempotent), and prints the
# DOCKER_HOST to use. Installs Debian's docker.io (dockerd 20.10, containerd, runc) and the tools
# the offline builds use if they are missing.
#
# The engine is ours alone: its own socket, data root, exec root, pid file and config file, so it
# neither touches nor needs a Docker the machine may already run. Its default runtime is
# runc-shim (beside this script): it drops CAP_SYS_RESOURCE from the OCI spec, which this
# machine's capability bounding set lacks and without which `docker run --privileged` — and so
# every kind node — fails. Online mode (a machine with a working Docker) does not use this script.
#
#   e2e/kind/docker/up.sh        # then: export DOCKER_HOST=unix:///run/netmap-docker/docker.sock
#   e2e/kind/docker/down.sh      # stops it (images stay in $NETMAP_CACHE/docker)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need_root

apt_install docker.io runc containerd jq iptables

RUN="$NETMAP_DOCKER_RUN"
DATA="$NETMAP_CACHE/docker/data"
SOCK="$RUN/docker.sock"
PIDFILE="$RUN/dockerd.pid"
mkdir -p "$RUN" "$DATA"

if [ -S "$SOCK" ] && [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && docker info >/dev/null 2>&1; then
  if [ -d "$DATA/image" ]; then
    log "private dockerd already running (pid $(cat "$PIDFILE"))"
    echo "DOCKER_HOST=$DOCKER_HOST"
    exit 0
  fi
  # Its data root was deleted under it (e.g. someone emptied $NETMAP_CACHE): start afresh.
  log "private dockerd is running but $DATA is gone; restarting it"
  "$KIND_DIR/docker/down.sh"
fi

# The shim is copied out of the work tree so a running engine never depends on a checkout.
install -m 0755 "$KIND_DIR/docker/runc-shim" "$RUN/runc-shim"
cat >"$RUN/daemon.json" <<JSON
{
  "runtimes": { "netmap-runc-shim": { "path": "$RUN/runc-shim" } },
  "default-runtime": "netmap-runc-shim",
  "storage-driver": "overlay2",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "bridge": "none",
  "features": { "buildkit": false },
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2" }
}
JSON

# kind bind-mounts /lib/modules read-only into its nodes.
mkdir -p /lib/modules

log "starting private dockerd (data $DATA, socket $SOCK, log $RUN/dockerd.log)"
setsid dockerd \
  --host "unix://$SOCK" \
  --data-root "$DATA" \
  --exec-root "$RUN/exec" \
  --pidfile "$PIDFILE" \
  --config-file "$RUN/daemon.json" \
  >"$RUN/dockerd.log" 2>&1 </dev/null &

for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && break
  sleep 0.5
done
docker info >/dev/null 2>&1 || { tail -n 30 "$RUN/dockerd.log" >&2; die "dockerd did not answer on $SOCK within 30 s; its log is $RUN/dockerd.log"; }
log "private dockerd up: $(docker version --format '{{.Server.Version}}') with default runtime $(docker info --format '{{.DefaultRuntime}}')"
echo "DOCKER_HOST=$DOCKER_HOST"

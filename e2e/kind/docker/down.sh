#!/bin/bash
# Stops netmap's private Docker engine (started by up.sh). Its images and containers stay in
# $NETMAP_CACHE/docker/data for the next run; `--purge` also deletes that directory.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
PIDFILE="$NETMAP_DOCKER_RUN/dockerd.pid"
if [ -f "$PIDFILE" ] && pid="$(cat "$PIDFILE")" && kill -0 "$pid" 2>/dev/null; then
  log "stopping private dockerd (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "dockerd still running after 30 s; sending SIGKILL"; kill -KILL "$pid"; fi
else
  log "private dockerd is not running"
fi
if [ "${1:-}" = "--purge" ]; then
  log "deleting $NETMAP_CACHE/docker"
  rm -rf "$NETMAP_CACHE/docker"
fi

#!/bin/bash
# npm run e2e:kind [-- vitest args] : the kind e2e (vitest project "kind", e2e/kind/**/*.kind.test.ts).
#
#   NETMAP_KIND_MODE=offline (default)  everything built here, no image registry: needs root, Go,
#                                       the Debian mirror, the Go module proxy and npm (see README)
#   NETMAP_KIND_MODE=online             kind's published images, pulled (a machine with internet)
#   NETMAP_KIND_NETWORKS=flannel,kindnet   NETMAP_KIND_PROXY_MODES=iptables[,nftables]
#
# The images are built first, with their progress, so the tests' own timeouts cover only the
# clusters; a second run finds them all cached.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${NETMAP_KIND_MODE:-offline}"
start=$(date +%s)
echo "[e2e:kind] preparing the $mode images and tools (cold offline: ~30 min on 2 cores; cached: seconds)" >&2
e2e/kind/prepare.sh "$mode" >/dev/null
echo "[e2e:kind] prepared in $(($(date +%s) - start)) s; building kubectl-netmap (the tests run the workspace's)" >&2
node_modules/.bin/tsc -b kubectl-plugin
echo "[e2e:kind] running the kind tests" >&2
NETMAP_E2E_KIND=1 NETMAP_KIND_MODE="$mode" node_modules/.bin/vitest run --project kind "$@"
echo "[e2e:kind] done in $(($(date +%s) - start)) s" >&2

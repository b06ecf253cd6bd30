# netmap's container image: the operator and the probe (and kubectl-netmap), one image.
#
#   docker build -t netmap:dev .
#
# The probe runs read-only kernel tools inside network namespaces: iproute2, iptables (both the
# nf_tables and the legacy backend), nftables, ipset, conntrack, socat (carries nf_tables netlink
# requests), ipvsadm and procps (sysctl). The image runs as an unprivileged user (the operator's
# Deployment needs no more); the probe's privileges come from its DaemonSet's securityContext
# (hostNetwork, hostPID, root with NET_ADMIN/SYS_ADMIN), not from the image. There is no entry point
# of its own beyond `node`: the Deployment and the DaemonSet give the script to run.
#
# A machine with no image registry builds the same image without pulling a base image:
# e2e/kind/images/netmap-image.sh (a debootstrap root filesystem + the Node 24 binary from the
# `node` npm package + the same built workspace).

ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY operator/ operator/
COPY kubectl-plugin/ kubectl-plugin/
COPY e2e/package.json e2e/tsconfig.json e2e/
# Dev dependencies for the build (TypeScript); `prepare` is skipped, the build below is explicit.
# `npm install`, not `npm ci`: the lock file leaves out optional platform binaries (Biome's) that a
# restricted registry does not serve, and `npm ci` refuses such a lock file (see .ci/run).
RUN npm install --ignore-scripts --no-audit --no-fund
# Only the shipped projects: core, probe, the operator's packages, the plugin (not e2e).
RUN npx tsc -b $(ls -d operator/*/ | sed 's,/$,,') kubectl-plugin
# Production dependencies of the shipped workspaces only, in a clean tree.
RUN mkdir /out && cp package.json package-lock.json /out/ && \
    for p in $(ls -d operator/*/ | sed 's,/$,,') kubectl-plugin; do \
      mkdir -p /out/$p && cp $p/package.json /out/$p/ && cp -r $p/dist /out/$p/ && \
      if [ -d $p/bin ]; then cp -r $p/bin /out/$p/; fi; \
    done && \
    cd /out && npm install --omit=dev --ignore-scripts --no-audit --no-fund \
      $(for p in $(ls -d operator/*/ | sed 's,/$,,') kubectl-plugin; do printf -- '--workspace %s ' "$p"; done)

FROM node:${NODE_VERSION}-bookworm-slim
RUN apt-get update && \
    apt-get install -y --no-install-recommends iproute2 iptables nftables ipset conntrack socat ipvsadm procps && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /out /app
ENV NODE_ENV=production PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
# node's image has user "node" (uid 1000); the probe's DaemonSet runs as root (runAsUser: 0).
USER 1000:1000
CMD ["node", "--version"]

# reclaimd container image.
#
#   docker build -t reclaimd .
#   docker run -d --name reclaimd --read-only \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v reclaimd-state:/var/lib/reclaimd -p 127.0.0.1:9476:9476 reclaimd
#
# BASE selects the Node base image. Users keep the default; where no registry can be reached
# (the tests, CI) scripts/make-local-base.sh builds a stand-in from the machine's own node:
#   docker build --network host --build-arg BASE=reclaimd-test/node-base:local .
# The runtime stage runs no command, so any base with node on its PATH works.
ARG BASE=node:20-bookworm-slim

# Build stage: every dependency, the TypeScript build, then only the production dependencies.
FROM ${BASE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
# The lockfile alone first, so a source change does not re-download the dependencies.
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script (ssh2's optional native speed-up
# only builds with a compiler, and dockerode falls back without it); it also keeps the
# build from running code it downloaded.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts
# The unprivileged user, added to the base's own passwd and group files (copied below), and
# an empty state directory it owns. Doing this here keeps the runtime stage free of RUN
# steps, so it needs no shell.
RUN echo 'reclaimd:x:10001:10001:reclaimd:/var/lib/reclaimd:/sbin/nologin' >>/etc/passwd \
 && echo 'reclaimd:x:10001:' >>/etc/group \
 && mkdir -p /state

# Runtime stage: node, the compiled code and production dependencies; nothing else.
FROM ${BASE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="reclaimd" \
      org.opencontainers.image.description="Policy-driven cleanup daemon for Docker hosts: YAML retention policies, honest dry-runs, Prometheus metrics." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}"
# glibc's allocator (docs/performance.md, "Memory"): MALLOC_ARENA_MAX, because each thread
# that allocates gets an arena of its own and keeps its pages, and two are enough for node;
# MALLOC_MMAP_THRESHOLD_, because glibc otherwise raises the threshold after the first large
# buffer is freed (a list answer of several MB), and later ones then stay in its heap, about
# 11 MB of the idle daemon at 15,000 objects.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    HOME=/var/lib/reclaimd \
    RECLAIMD_HEALTHCHECK_URL=http://127.0.0.1:9476/healthz
COPY --from=build /etc/passwd /etc/group /etc/
COPY --from=build --chown=10001:10001 /state /var/lib/reclaimd
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schema ./schema
# The shipped configuration is in dry-run: mount your own over /etc/reclaimd to enforce.
COPY config.example.yaml /etc/reclaimd/config.yaml
COPY policies /etc/reclaimd/policies
# A fixed numeric uid, so runAsNonRoot-style checks and file ownership on the host are
# predictable. It reaches the Docker socket through the socket's group: --group-add <gid>.
USER 10001:10001
EXPOSE 9476
# /healthz answers 200 while the process runs (an engine outage shows in its body, not as
# unhealthy). Slim images have no curl, so node's own fetch asks; set
# RECLAIMD_HEALTHCHECK_URL when metrics.listen uses another port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.RECLAIMD_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node flags for a small resident set (docs/performance.md, "Memory"), measured at 15,000
# objects: --max-semi-space-size=1 (MB) keeps V8's young generation from growing to 16 MB per
# semi-space while a cycle allocates; --heap-growing-percent=10 makes V8 grow its heap in
# steps of a tenth (peak about 125 MB instead of 135-160), which is what --optimize-for-size
# did for the peak, without its cost in CPU (a fifth of a steady cycle's); --v8-pool-size=1
# leaves V8 one helper thread.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=10", "--v8-pool-size=1", "/app/dist/cli/main.js"]
CMD ["daemon", "--config", "/etc/reclaimd/config.yaml", "--listen", "0.0.0.0:9476"]

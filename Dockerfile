# reclaimd container image (first version; deploy hardening comes later).
# BASE selects the Node base image, so a locally built base can stand in where no registry
# is reachable: docker build --build-arg BASE=my-node:20 .
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schema ./schema
COPY config.example.yaml /etc/reclaimd/config.yaml
COPY policies /etc/reclaimd/policies
# Runs as the unprivileged "node" user; reach the socket with --group-add <gid of docker.sock>.
USER node
EXPOSE 9476
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:9476/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["daemon", "--config", "/etc/reclaimd/config.yaml", "--listen", "0.0.0.0:9476"]

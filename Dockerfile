# Production image: the compiled gateway (dist/) on production dependencies only, as a non-root user.
# One process runs the HTTP server and the worker (see --role and --web-processes for splitting them).
# .ci/image-smoke repeats these steps in a clean folder on every CI run (the CI machines have no
# container engine), so the image cannot silently break: keep the two in step.

# Install-time telemetry of dependencies off (swagger-ui-dist pulls in @scarf/scarf, which reports
# installs; package.json's scarfSettings says the same), and no npm update, audit or funding calls.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV SCARF_ANALYTICS=false DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY providers ./providers
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data PORT=3000 \
    SCARF_ANALYTICS=false DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false
COPY package.json package-lock.json ./
COPY scripts/ensure-build.mjs ./scripts/
COPY --from=build /src/dist ./dist
# `prepare` (scripts/ensure-build.mjs) finds no build tools here and keeps dist/ as built above.
RUN npm ci --omit=dev && npm cache clean --force
COPY migrations ./migrations
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
# Probes PORT, then WORKER_HTTP_PORT (a worker-only container serves no web port): bin/healthcheck.js.
HEALTHCHECK --interval=10s --timeout=5s CMD ["node", "bin/healthcheck.js"]
# node as PID 1 receives docker stop's SIGTERM itself (no npm or shell in between to swallow it).
CMD ["node", "dist/main.js", "start"]

# One image for the three services and the `logsplit` command line; the command picks which:
#   docker run logsplit dist/apps/splitter/src/main.js        (compressor, uploader alike)
#   docker run logsplit dist/apps/cli/src/main.js logs --app web
# Small (alpine, production dependencies only, no compiler) and runs as the unprivileged
# `node` user (uid 1000). Needs no native addons: zstd comes from node:zlib (Node >= 22.15).
ARG NODE_IMAGE=node:24-alpine

# Production dependencies only, resolved exactly from the lock file.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Compile with the dev dependencies (TypeScript, tsc-alias); none of them reach the image.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY libs libs
COPY apps apps
COPY scripts scripts
# What scripts/build does, without bash: @logsplit/* aliases rewritten to relative requires.
# libs/testing (test doubles) is not in the context (.dockerignore) and never compiled.
RUN npx --no-install tsc -p tsconfig.build.json --outDir dist \
  && npx --no-install tsc-alias -p tsconfig.build.json --outDir dist \
  && find dist -name '*.map' -delete

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LOGSPLIT_SPOOL_DIR=/data/spool \
    LOGSPLIT_STORE_FS_ROOT=/data/bucket
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
# Mount points owned by the runtime user: a fresh named volume takes this ownership, so the
# services can write the spool and the fs bucket without running as root.
RUN mkdir -p /data/spool /data/bucket \
  && chown node:node /data/spool /data/bucket \
  && chmod +x dist/apps/cli/src/main.js \
  && ln -s /app/dist/apps/cli/src/main.js /usr/local/bin/logsplit
USER node
# gRPC health (LOGSPLIT_HEALTH_PORT) and Prometheus metrics (LOGSPLIT_METRICS_PORT).
EXPOSE 50051 9464
# kafkajs 2.2.4 sets negative timers on Node 24 (kafkajs issue 1751): that warning is noise.
ENTRYPOINT ["node", "--disable-warning=TimeoutNegativeWarning"]
CMD ["dist/apps/splitter/src/main.js"]

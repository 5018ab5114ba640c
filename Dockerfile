# syntax=docker/dockerfile:1
#
# One image for the whole fleet: ingest, reserver, ledger-writer, reconciler and the `holdfast`
# CLI. Services run their TypeScript through tsx; pick one with the command, e.g.
#
#   docker build -t holdfast:local .
#   docker run --rm holdfast:local pnpm --filter @holdfast/reserver start
#   docker run --rm holdfast:local holdfast stock show --json
#
# docker-compose.yml builds this image once and runs every service from it.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
# corepack's signature checks fail in some build environments: install the pinned pnpm with npm.
RUN npm i -g pnpm@9.15.9 \
 && npm cache clean --force \
 && pnpm --version
# npm_config_shell_emulator: pnpm runs package scripts without an intermediate `sh -c`, so on
# SIGTERM it signals tsx directly (tsx relays it once to the service) and waits for the
# service's graceful shutdown. With the default shell, pnpm kills `sh` and exits at once, the
# container stops, and the service is killed in the middle of its batch.
ENV npm_config_store_dir=/pnpm/store \
    npm_config_update_notifier=false \
    npm_config_shell_emulator=true
WORKDIR /app

# ---------------------------------------------------------------------------------------------
FROM base AS deps
# 1. Download every package named by the lockfile. This layer only changes with the lockfile.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN CI=true pnpm fetch
# 2. The sources, then a frozen, offline install from the store filled above (workspace links,
#    bin links, install scripts). tsx is a devDependency, so dev dependencies are installed.
COPY . .
RUN CI=true pnpm install --frozen-lockfile --offline
# Services run compiled (apps/*/dist, `--conditions=holdfast-dist`): faster start, half the memory.
RUN CI=true pnpm build

# ---------------------------------------------------------------------------------------------
FROM base AS runtime
ENV NODE_ENV=production
# Only /app is copied: the pnpm store stays behind in the deps stage.
COPY --from=deps /app /app
COPY deploy/docker/holdfast /usr/local/bin/holdfast
RUN chmod 0755 /usr/local/bin/holdfast \
 && mkdir -p /app/reports \
 && chown node:node /app/reports
# The application tree stays root-owned and read-only for the service user.
USER node
# Default METRICS_PORT of each service (ingest, reserver, ledger-writer, reconciler).
EXPOSE 9101 9102 9103 9104
# Without a command the container runs the whole fleet in one foreground supervisor; compose
# gives each service its own command instead.
CMD ["holdfast", "fleet"]

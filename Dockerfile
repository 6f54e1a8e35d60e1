# syntax=docker/dockerfile:1

# dbaccess runs its TypeScript through tsx (a production dependency): nothing is compiled, so the
# build stage only installs production dependencies. Their install scripts must run: the embedded
# PostgreSQL binary package links its shared libraries in one (allowed in package.json "allowScripts"
# for npm 11; the npm 10 bundled with this image runs install scripts anyway).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app
# Code and dependencies stay owned by root: the app user can read them, not change them.
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
# `dbaccess <command>` on the PATH (also `npx dbaccess`, the package's bin): migrate, check-config,
# doctor, leases, revoke-all. DATA_DIR holds the embedded PostgreSQL cluster (when DATABASE_URL is
# unset), its password and the master key file. The server runs as the same unprivileged user as the app.
RUN ln -s /app/bin/dbaccess.js /usr/local/bin/dbaccess \
 && mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# /readyz answers 200 once the database and queue checks pass. No curl in the slim image: use Node's
# fetch. RUN_MODE=worker serves no HTTP: disable the health check for worker containers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The catalog is read from DBACCESS_CONFIG (default /app/dbaccess.yaml): mount it read-only.
# Start applies pending migrations; as an explicit step before a new version starts:
#   docker compose run --rm app npx dbaccess migrate
# `npm start`, after the console's token when CONSOLE_TOKEN_FILE asks for one (docker-compose.try.yml).
CMD ["node", "bin/docker-entrypoint.js"]

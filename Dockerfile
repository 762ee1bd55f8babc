# syntax=docker/dockerfile:1
# rollgate controller image. scripts/docker-steps.sh runs these same steps as plain shell
# commands (test/integration/deploy-manifests-docker.test.ts runs it; keep the two in step).
#
#   docker build -t REGISTRY/rollgate:TAG .
#   docker run --rm REGISTRY/rollgate:TAG --help
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: dev dependencies (TypeScript) compile src/ to dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production: runtime dependencies only, non-root ---
FROM ${NODE_IMAGE} AS production
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY config ./config
# The dashboard's page script and styles, inlined into its pages at run time.
COPY dashboard ./dashboard
# The JSON Schema of plan files, for editors (`rollgate schema` prints the same).
COPY schema ./schema
# uid/gid 1000 is the image's `node` user; numeric so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9464
ENTRYPOINT ["node","/app/dist/main.js"]
CMD ["controller"]

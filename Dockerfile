# token.place bootstrap: relay, private DHT server, directory, web chat and OpenAI gateway.
#
#   docker compose up -d                     # with compose.yaml: a named volume, restarts
#   docker build -t token.place-bootstrap .
#   docker run -p 9090:9090 -p 8080:8080 -v tokenplace-data:/data token.place-bootstrap \
#     --announce /dns4/relay.example.org/tcp/443/wss
#
# Arguments after the image name are appended to the bootstrap command; environment
# variables (TOKENPLACE_BOOTSTRAP_*) and a config file (TOKENPLACE_BOOTSTRAP_CONFIG=
# /data/bootstrap.json) set everything else. See docs/OPERATOR.md. CI runs this file's
# ENTRYPOINT outside Docker: scripts/container-smoke.mjs.

# ---- build: every dependency, TypeScript and the web app
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Nothing downloads or compiles llama.cpp: its postinstall would only check the prebuilt binary.
ENV NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build
# Production dependencies only. A bootstrap never runs a model, so llama.cpp's prebuilt
# binaries (about 650 MB with the CUDA and Vulkan builds) stay out of the image.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
  && rm -rf node_modules/@node-llama-cpp

# ---- runtime: Node 22 on Debian 12 (glibc), as the unprivileged `node` user
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The bootstrap's identity (bootstrap-identity.key: its PeerId) lives in /data: keep the volume.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# 9090: libp2p WebSockets; 8080: web chat, OpenAI gateway, /bootstrap.json, /healthz, /metrics.
EXPOSE 9090 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/bin/token.place.js", "bootstrap", "--data-dir", "/data", "--listen", "/ip4/0.0.0.0/tcp/9090/ws", "--http", "0.0.0.0:8080"]

# syntax=docker/dockerfile:1.26@sha256:ecfaec9ed6d810b56388c508f4121597bfbba70d41a6dfeee4d8cad5f295fc32
# check=error=true

# The blog's image: one static binary on distroless static, run as nonroot.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t blog .
#
# Both build stages run on the builder's own platform: htmx is plain
# JavaScript and Go cross-compiles, so an arm64 (Graviton) image needs no
# emulation. Base images are pinned by tag (what it is) and by digest (which
# bytes); bump both together, on purpose. They are build arguments only so
# that a build without a registry (the real-engine tests) or with a mirror can
# pass its own; the defaults are what production builds from.
ARG NODE_IMAGE=node:24.21.0-alpine@sha256:ebfe2f90462722a7a4de65e91990e97fe0d401c70e0e762c5b53302f905ec1c1
ARG GO_IMAGE=golang:1.26.8-alpine@sha256:ce864e7223ac17b1775e6fd0b4c0db580c2eb50e7953a427916379e4b92a1628
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:f5b485ea962d9bd1186b2f6b3a061191539b905b82ec395de78cbfae51f20e35

# htmx comes from the npm registry, pinned by package-lock.json.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
# GOTOOLCHAIN=local: build with this image's Go, never a downloaded one.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# No separate `go mod download`: go.mod also lists the stack's modules (Pulumi,
# AWS), and the build itself fetches only what ./blog imports into the
# module cache mounted below.
COPY . .
COPY --from=assets /src/node_modules/htmx.org/dist/htmx.min.js blog/internal/web/static/htmx.min.js
# An empty data directory owned by nonroot, for the development secret a
# blog without BLOG_SECRET_KEY generates (compose always sets one).
RUN mkdir -p /out/data
ARG TARGETOS TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
# -tags nosqlite: production runs on PostgreSQL; leaving the SQLite engine out
# keeps the image under 32 MB (make run and go build keep SQLite).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags nosqlite -trimpath -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" -o /blog ./blog

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="blog" \
      org.opencontainers.image.description="A server-rendered blog: one static Go binary on PostgreSQL." \
      org.opencontainers.image.source="https://github.com/blogstack/blogstack" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$COMMIT" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /blog /blog
COPY --from=build --chown=65532:65532 /out/data /data
ENV BLOG_ADDR=:8080 \
    BLOG_DATA_DIR=/data
USER 65532:65532
# Scratch space (uploads over 1 MB are spooled here while parsed), the one
# writable path under a read-only root: compose mounts a tmpfs over it; on
# ECS Fargate a task's bind mount here takes the image's mode (1777) only
# because the image declares the volume.
VOLUME ["/tmp"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/blog", "healthcheck"]
ENTRYPOINT ["/blog"]
CMD ["serve"]

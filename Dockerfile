# syntax=docker/dockerfile:1
#
# Switchboard's image: the one static `switchboard` binary on distroless,
# running as the non-root user 65532. Build it from the repository root:
#
#   docker build -t switchboard:1.2.3 \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# `docker run switchboard:1.2.3 version` prints what was stamped. The same
# image runs every role: `serve --role gateway`, `serve --role worker`, and
# the admin commands (`users`, `apply`, `whatsapp pair`, ...). See
# deploy/README.md.

# Keep in step with the go line of go.mod.
ARG GO_VERSION=1.26

# The builder runs on the build host's platform and cross-compiles (no cgo),
# so a multi-platform build (docker buildx --platform linux/amd64,linux/arm64)
# needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
ARG TARGETOS
ARG TARGETARCH
# The same flags as `make build`: static (CGO_ENABLED=0; SQLite is pure Go),
# no local paths in the binary, version, commit and date stamped into main.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/switchboard ./cmd/switchboard
# The data directory: the SQLite system of record (without database.url) and
# linked WhatsApp devices' SQLite stores live here. It is created here
# because the final image has no shell; it is copied owned by the non-root
# user, so a fresh Docker volume mounted on it is writable.
RUN mkdir -p /out/data

# A static busybox, only for the HEALTHCHECK below: distroless has no shell
# or HTTP client and switchboard has no probe mode. Kubernetes ignores
# HEALTHCHECK (it uses the probes in deploy/kubernetes); Docker and Compose
# use it.
FROM busybox:1.37-musl AS busybox

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="Customer-service messaging gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}"
COPY --from=build /out/switchboard /switchboard
COPY --from=busybox /bin/busybox /busybox
COPY --from=build --chown=65532:65532 /out/data /var/lib/switchboard
# Listen on every interface inside the container (the binary's default,
# 127.0.0.1, would be unreachable from outside it).
ENV SWITCHBOARD_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
VOLUME /var/lib/switchboard
# Without database.url Switchboard keeps its system of record in the SQLite
# file switchboard.db in the working directory: here, on the volume, not in
# the read-only (and throwaway) root of the container.
WORKDIR /var/lib/switchboard
USER 65532:65532
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/switchboard"]
CMD ["serve"]

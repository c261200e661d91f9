# syntax=docker/dockerfile:1
#
# Two images from one build:
#   docker build --target action -t amigo-release:action .   # GitHub Action / plain container (static, scratch)
#   docker build --target azure  -t amigo-release:azure  .   # Azure DevOps container job (glibc + bash)
#
# Cross-builds without emulation: the builder runs on the build platform and
# GOOS/GOARCH come from buildx's TARGETOS/TARGETARCH. Reproducible: -trimpath,
# -buildid= and version info only from the build args below.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
# Set by BuildKit for each --platform (linux/amd64, linux/arm64).
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=(devel)
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -buildid= \
        -X github.com/amigo-release/amigo-release/internal/buildinfo.version=${VERSION} \
        -X github.com/amigo-release/amigo-release/internal/buildinfo.commit=${COMMIT} \
        -X github.com/amigo-release/amigo-release/internal/buildinfo.date=${DATE}" \
      -o /out/amigo-release . \
 && mkdir -p /out/tmp && chmod 1777 /out/tmp

# The GitHub Action image: a static binary, CA certificates and nothing else.
FROM scratch AS action
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/amigo-release /usr/local/bin/amigo-release
# Non-root, and the uid of the `runner` user on GitHub-hosted runners (1001): the
# runner mounts the workspace and the $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY files
# owned by that uid, so a `uses: docker://` step can write its outputs (any other
# non-root uid gets "permission denied"; actions/runner-images#10915). On a
# self-hosted runner with another uid, run the image with --user "$(id -u)".
# Numeric because scratch has no /etc/passwd.
USER 1001:1001
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/amigo-release"]

# The Azure DevOps container-job image. The agent starts the container with
# its own command and mounts its Node.js into it, so: a glibc base, bash, no
# ENTRYPOINT, the binary on PATH. No RUN steps, so arm64 builds need no QEMU.
# No USER either: Azure's container-job requirements say the image user must
# be able to run groupadd/useradd without sudo (the agent creates a user
# matching its own uid in the container and runs the steps as that user), so
# the default user stays root here; the steps themselves do not run as root.
FROM debian:bookworm-slim AS azure
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/amigo-release /usr/local/bin/amigo-release
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["bash"]

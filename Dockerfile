# syntax=docker/dockerfile:1.18@sha256:dabfc0969b935b2080555ace70ee69a5261af8a8f1b4df97b9e7fbcf6722eddf
#
# Two images around the release binaries (the goreleaser pattern): the image
# holds the very bytes of the release asset amigo-release-linux-<arch> that
# SHA256SUMS lists and the release attests, so there is one build to trust.
# Build the binaries first, then the image:
#
#   scripts/images.sh                 # both steps, both targets, with docker buildx, podman or buildah
#   TARGETS=linux/amd64 scripts/build.sh "" dist && docker build --target action -t amigo-release:action .
#
# Any builder works: BuildKit (docker build, docker buildx), podman and buildah.
# TARGETOS/TARGETARCH come from the builder when it sets them (BuildKit and
# buildah do; the legacy Docker builder does not) and otherwise default to the
# build machine's platform. Base images and this syntax line are pinned by
# digest: README "Images" says how to update them (Dependabot, or
# scripts/pin-images.sh); TestDockerfile fails on an unpinned one.

# The action image's whole filesystem, laid out on the build platform (no
# emulation for arm64): the binary for the target platform, the Debian CA
# bundle and a world-writable, sticky /tmp.
FROM --platform=$BUILDPLATFORM debian:bookworm-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251 AS rootfs
ARG TARGETOS
ARG TARGETARCH
COPY dist/ /dist/
RUN set -eu; \
    os="${TARGETOS:-linux}"; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    bin="/dist/amigo-release-${os}-${arch}"; \
    if [ ! -f "$bin" ]; then \
      echo "dist/amigo-release-${os}-${arch} is missing: run TARGETS=${os}/${arch} scripts/build.sh \"\" dist first (or scripts/images.sh)" >&2; \
      exit 1; \
    fi; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null; \
    mkdir -p /rootfs/tmp /rootfs/etc/ssl/certs /rootfs/usr/local/bin; \
    chmod 1777 /rootfs/tmp; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt; \
    install -m 0755 "$bin" /rootfs/usr/local/bin/amigo-release

# The GitHub Action image (and plain container): static binary, CA bundle,
# /tmp (1777), nothing else. One COPY of the tree keeps /tmp's mode (copying a
# directory onto /tmp would not). No USER: GitHub runs Docker actions as the
# image's user and "Docker actions must be run by the default Docker user
# (root). Do not use the USER instruction in your Dockerfile, because you won't
# be able to access the GITHUB_WORKSPACE directory"
# (https://docs.github.com/en/actions/sharing-automations/creating-actions/dockerfile-support-for-github-actions#user);
# a `uses: docker://` step cannot pass --user. To run it as another user
# elsewhere, `docker run --user "$(id -u)"` works: /tmp is writable by anyone.
FROM scratch AS action
COPY --from=rootfs /rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/amigo-release"]

# The Azure DevOps container-job image. The agent starts the container with
# its own command and mounts its Node.js into it, so: a glibc base, bash, no
# ENTRYPOINT, the binary on PATH. No RUN steps, so arm64 builds need no QEMU.
# No USER either: Azure's container-job requirements say the image user must
# be able to run groupadd/useradd without sudo (the agent creates a user
# matching its own uid in the container and runs the steps as that user), so
# the default user stays root here; the steps themselves do not run as root.
FROM debian:bookworm-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251 AS azure
COPY --from=rootfs /rootfs/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=rootfs /rootfs/usr/local/bin/amigo-release /usr/local/bin/amigo-release
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["bash"]

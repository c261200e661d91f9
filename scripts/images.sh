#!/usr/bin/env bash
# Builds both images (the Dockerfile's `action` and `azure` targets) for one
# platform with whatever builder this machine has, then, with --test, runs the
# inspection test (cmd TestImages) on them:
#
#   scripts/images.sh [--test] [--rm]
#
# --rm removes the images when done and keeps no build cache (podman's cached
# intermediate stage images would pile up, ~300 MB a run; CI builds under a
# name of its own). Without it podman keeps its layer cache: `podman image
# prune` clears it.
#
# Steps:
#   1. the release binary for the platform, with scripts/build.sh into dist/
#      (the images copy it: the goreleaser pattern; SKIP_BINARIES=1 keeps dist/);
#   2. a builder: BUILDER=docker|podman|buildah, else the first that works of
#      docker buildx (with a reachable daemon), podman, buildah; with none, as
#      root with apt-get, it installs podman and buildah;
#   3. the base image: the Dockerfile's pinned debian:bookworm-slim@sha256:...,
#      pulled when missing; when no registry answers (podman/buildah only), a
#      local stand-in made with debootstrap --variant=minbase bookworm and
#      tagged debian:bookworm-slim, built FROM instead of the pinned digest (the
#      script says so; release builds always use the pinned digest);
#   4. docker buildx build --load, or podman/buildah build with chroot isolation
#      (no container runtime needed) into local storage.
#
# Environment: IMAGE (default amigo-release: tags $IMAGE:action and
# $IMAGE:azure), PLATFORM (default linux/<go env GOARCH>), VERSION (default
# git describe), BUILDER, SKIP_BINARIES, STORAGE_DRIVER (podman/buildah; vfs
# when unset and overlay does not work here). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

run_test=false
remove=false
for arg in "$@"; do
	case "$arg" in
	--test) run_test=true ;;
	--rm) remove=true ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "images.sh: unknown argument $arg (usage: scripts/images.sh [--test] [--rm])" >&2
		exit 2
		;;
	esac
done

image="${IMAGE:-amigo-release}"
platform="${PLATFORM:-linux/$(go env GOARCH)}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo '(devel)')}"
say() { printf 'images.sh: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
start=$(date +%s)

# 1. The binary the images copy.
if [ "${SKIP_BINARIES:-}" != 1 ]; then
	say "building dist/amigo-release-${platform/\//-} (${version})"
	TARGETS="$platform" scripts/build.sh "$version" dist
fi
[ -f "dist/amigo-release-${platform/\//-}" ] || die "dist/amigo-release-${platform/\//-} is missing (SKIP_BINARIES=1 needs it)"
# The images' version label is the binary's own version.
if [ "${SKIP_BINARIES:-}" = 1 ] && [ -z "${VERSION:-}" ]; then
	version=$("dist/amigo-release-${platform/\//-}" version 2>/dev/null | awk 'NR == 1 { print $2 }') ||
		die "cannot run dist/amigo-release-${platform/\//-} to read its version: set VERSION"
	[ -n "$version" ] || die "cannot read the version of dist/amigo-release-${platform/\//-}: set VERSION"
fi

# 2. A builder.
docker_works() { command -v docker >/dev/null && docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
builder="${BUILDER:-}"
if [ -z "$builder" ]; then
	if docker_works; then
		builder=docker
	elif command -v podman >/dev/null; then
		builder=podman
	elif command -v buildah >/dev/null; then
		builder=buildah
	elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "no docker daemon, podman or buildah: installing podman and buildah (Debian packages)"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah >/dev/null
		builder=podman
	else
		die "no image builder: install docker (with buildx), podman or buildah"
	fi
fi
case "$builder" in
docker) docker_works || die "BUILDER=docker but docker buildx or its daemon is not available" ;;
podman | buildah) command -v "$builder" >/dev/null || die "BUILDER=$builder but $builder is not installed" ;;
*) die "BUILDER must be docker, podman or buildah, not $builder" ;;
esac

# podman and buildah: chroot isolation runs RUN steps without a container
# runtime (crun may be unable to set rlimits in a sandbox); vfs storage where
# overlay cannot mount (nested overlay, no fuse-overlayfs).
if [ "$builder" != docker ]; then
	export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
	if [ -z "${STORAGE_DRIVER:-}" ]; then
		if "$builder" info >/dev/null 2>&1 && "$builder" images >/dev/null 2>&1; then
			STORAGE_DRIVER="$("$builder" info --format '{{.Store.GraphDriverName}}' 2>/dev/null || echo vfs)"
			export STORAGE_DRIVER
		else
			export STORAGE_DRIVER=vfs
		fi
		# overlay on overlay (a container's root file system) cannot mount.
		if [ "$STORAGE_DRIVER" = overlay ] && [ "$(findmnt -n -o FSTYPE --target /var/lib/containers 2>/dev/null || echo unknown)" = overlay ]; then
			export STORAGE_DRIVER=vfs
		fi
	fi
	say "builder: $builder $("$builder" --version | awk '{print $NF}') (storage ${STORAGE_DRIVER}, isolation ${BUILDAH_ISOLATION})"
else
	say "builder: $(docker buildx version | head -1)"
fi

# 3. The base image: pinned by digest in the Dockerfile.
base=$(sed -n 's/^FROM .*\(debian:bookworm-slim@sha256:[0-9a-f]\{64\}\).*/\1/p' Dockerfile | sort -u)
if [ -z "$base" ] || [ "$(printf '%s\n' "$base" | wc -l)" != 1 ]; then die "Dockerfile: expected one pinned debian:bookworm-slim@sha256:... base, found: ${base:-none}"; fi
dockerfile=Dockerfile
pull=()
if [ "$builder" != docker ]; then
	if "$builder" inspect --type image "$base" >/dev/null 2>&1 || "$builder" pull -q "$base" >/dev/null 2>&1; then
		pull=(--pull=never)
		say "base: $base"
	else
		standin=debian:bookworm-slim
		if ! "$builder" inspect --type image "localhost/$standin" >/dev/null 2>&1; then
			command -v debootstrap >/dev/null || {
				if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then die "cannot pull $base and cannot install debootstrap to make a stand-in"; fi
				say "installing debootstrap"
				apt-get update -qq
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
			}
			mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit } /^deb / && $3 ~ /\/debian\/?$/ { print $3; exit }' \
				/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
			mirror="${mirror:-http://deb.debian.org/debian}"
			root=$(mktemp -d)
			trap 'rm -rf "$root"' EXIT
			say "no registry answers for $base: making a stand-in with debootstrap --variant=minbase bookworm ($mirror)"
			arch="${platform#*/}"
			debootstrap --variant=minbase --arch="$arch" bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
				tail -20 "$root.log" >&2
				die "debootstrap failed (log above)"
			}
			rm -f "$root.log"
			# As the official slim image: no apt lists, caches, logs, manuals or
			# translations, and of the docs only the copyright files.
			rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
				"$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
			find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
			tar -C "$root" --numeric-owner -cf - . | "$builder" import -q --change 'CMD ["bash"]' - "$standin" >/dev/null
			rm -rf "$root"
			trap - EXIT
		fi
		say "base: no registry answers for $base; building FROM the local stand-in localhost/$standin (debootstrap)"
		dockerfile=$(mktemp)
		trap 'rm -f "$dockerfile"' EXIT
		sed "s|$base|localhost/$standin|" Dockerfile >"$dockerfile"
		pull=(--pull=never)
	fi
fi

# 4. Both targets.
cache=()
if $remove && [ "$builder" != docker ]; then cache=(--layers=false); fi
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
labels=(--label "org.opencontainers.image.version=$version" --label "org.opencontainers.image.revision=$commit"
	--label "org.opencontainers.image.source=https://github.com/amigo-release/amigo-release"
	--label "org.opencontainers.image.licenses=Apache-2.0")
for target in action azure; do
	tag="$image:$target"
	say "building $tag ($platform)"
	case "$builder" in
	docker) docker buildx build --load --platform "$platform" --target "$target" -f "$dockerfile" "${labels[@]}" -t "$tag" . ;;
	podman) podman build -q "${pull[@]}" ${cache[@]+"${cache[@]}"} --platform "$platform" --target "$target" -f "$dockerfile" "${labels[@]}" -t "$tag" . >/dev/null ;;
	buildah) buildah build -q "${pull[@]}" ${cache[@]+"${cache[@]}"} --platform "$platform" --target "$target" -f "$dockerfile" "${labels[@]}" -t "$tag" . >/dev/null ;;
	esac
done
# The legacy Docker builder sets no TARGETOS/TARGETARCH: with them empty the
# Dockerfile must still pick the build machine's binary (podman and buildah
# let a build argument blank them; BuildKit does not).
noargs=""
if [ "$builder" != docker ]; then
	noargs="$image:action-noargs"
	say "building $noargs (TARGETOS and TARGETARCH empty)"
	"$builder" build -q "${pull[@]}" ${cache[@]+"${cache[@]}"} --build-arg TARGETOS= --build-arg TARGETARCH= --target action -f "$dockerfile" "${labels[@]}" -t "$noargs" . >/dev/null
fi

for target in action azure; do
	case "$builder" in
	docker) size=$(docker image inspect --format '{{.Size}}' "$image:$target") ;;
	podman) size=$(podman image inspect --format '{{.Size}}' "$image:$target") ;;
	buildah)
		say "$image:$target: $(buildah images --format '{{.Size}}' "$image:$target")"
		continue
		;;
	esac
	say "$image:$target: $((size / 1000)) kB"
done
say "built in $(($(date +%s) - start)) s"

status=0
if $run_test; then
	AMIGO_IMAGE_BUILDER="$builder" AMIGO_IMAGE_ACTION="$image:action" AMIGO_IMAGE_AZURE="$image:azure" AMIGO_IMAGE_NOARGS="$noargs" \
		go test -count=1 -v ./cmd -run '^TestImages$' || status=$?
fi
if $remove; then
	for ref in "$image:action" "$image:azure" ${noargs:+"$noargs"}; do
		case "$builder" in
		buildah) buildah rmi "$ref" >/dev/null ;;
		*) "$builder" rmi "$ref" >/dev/null ;;
		esac
	done
	say "removed $image:action, $image:azure${noargs:+, $noargs}"
fi
exit "$status"

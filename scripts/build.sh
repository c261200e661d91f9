#!/usr/bin/env bash
# Builds the release binaries: static (CGO_ENABLED=0), reproducible
# (-trimpath, no build id, version info only from the arguments below), for
# linux/darwin/windows x amd64/arm64, plus a SHA256SUMS file in sha256sum
# format. action.yml downloads exactly these names and checks SHA256SUMS.
#
#   scripts/build.sh [VERSION] [OUT_DIR]      # e.g. scripts/build.sh v1.2.3 dist
#
# VERSION defaults to `git describe --tags --always --dirty`, OUT_DIR to dist.
# COMMIT and DATE come from git (DATE is the commit time, so two builds of one
# commit are byte-identical); override with the COMMIT/DATE environment
# variables. TARGETS overrides the platform list ("linux/amd64 darwin/arm64").
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-$(git describe --tags --always --dirty 2>/dev/null || echo '(devel)')}"
out="${2:-dist}"
commit="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
date="${DATE:-$(git log -1 --format=%cI 2>/dev/null || echo unknown)}"
targets="${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"

pkg=github.com/amigo-release/amigo-release/internal/buildinfo
ldflags="-s -w -buildid= -X ${pkg}.version=${version} -X ${pkg}.commit=${commit} -X ${pkg}.date=${date}"

mkdir -p "$out"
names=()
for t in $targets; do
	os="${t%/*}"
	arch="${t#*/}"
	name="amigo-release-${os}-${arch}"
	[ "$os" = windows ] && name="${name}.exe"
	echo "build $name ($version)" >&2
	CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -ldflags "$ldflags" -o "$out/$name" .
	names+=("$name")
done

(
	cd "$out"
	if command -v sha256sum >/dev/null; then
		sha256sum "${names[@]}" >SHA256SUMS
	else
		shasum -a 256 "${names[@]}" >SHA256SUMS
	fi
)
echo "wrote $out/SHA256SUMS" >&2

#!/usr/bin/env bash
# Writes the software bill of materials of the release binaries: a CycloneDX
# JSON document listing every Go module linked into amigo-release on any
# release platform (cyclonedx-gomod's `app` mode per GOOS/GOARCH, merged; the
# modules only tests use are not in it), with licenses and package URLs.
# release.yml uploads it with the release and attests it for every binary and
# both images (actions/attest-sbom).
#
#   scripts/sbom.sh [OUT]      # default dist/amigo-release.sbom.cdx.json
#
# TARGETS overrides the platform list as in scripts/build.sh. Needs Go and jq;
# fetches cyclonedx-gomod (pinned below) through the Go module proxy. It checks
# the result against `go list -deps` for every platform and fails on a difference.
set -euo pipefail
cd "$(dirname "$0")/.."

cyclonedx_gomod=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
out="${1:-dist/amigo-release.sbom.cdx.json}"
targets="${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"
command -v jq >/dev/null || { echo "sbom.sh: jq is required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false go install "$cyclonedx_gomod"
parts=()
for t in $targets; do
	os="${t%/*}" arch="${t#*/}"
	GOOS="$os" GOARCH="$arch" GOFLAGS=-buildvcs=false "$tmp/bin/cyclonedx-gomod" app \
		-json -licenses -main . -output "$tmp/$os-$arch.json" . 2>"$tmp/$os-$arch.log" || {
		cat "$tmp/$os-$arch.log" >&2
		exit 1
	}
	parts+=("$tmp/$os-$arch.json")
done
mkdir -p "$(dirname "$out")"
# One document: the first one's metadata, the union of every platform's
# components and dependency edges (by bom-ref, which names no platform), with
# the goos/goarch qualifiers taken out of the package URLs.
jq -s 'def noplatform: sub("goarch=[^&]*&"; "") | sub("goos=[^&]*&"; "");
	.[0] + {
		metadata: (.[0].metadata | .component.purl |= noplatform),
		components: ([.[].components[]?] | unique_by(."bom-ref") | map(.purl |= noplatform)),
		dependencies: ([.[].dependencies[]?] | group_by(.ref) | map({ref: .[0].ref, dependsOn: ([.[].dependsOn[]?] | unique)}))
	}' "${parts[@]}" >"$out"
# Check it against the Go toolchain: the modules of every package linked into
# the binary on each platform (go list -deps), exactly.
for t in $targets; do
	GOOS="${t%/*}" GOARCH="${t#*/}" go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}' .
done | sort -u >"$tmp/want"
jq -r '.components[] | "\(.name)@\(.version)"' "$out" | sort -u >"$tmp/got"
if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	echo "sbom.sh: $out does not list exactly the modules go list -deps links (- missing, + extra):" >&2
	cat "$tmp/diff" >&2
	exit 1
fi
echo "wrote $out ($(jq '.components | length' "$out") modules, $(echo "$targets" | wc -w) platforms)" >&2

#!/usr/bin/env bash
# Updates the digests the Dockerfile pins: the `# syntax=` frontend and every
# FROM image, each written name:tag@sha256:<digest>. For each one it asks the
# registry for the current digest of name:tag (the multi-platform index) and
# rewrites the Dockerfile; Dependabot's docker updates do the same for FROM
# lines in pull requests (.github/dependabot.yml).
#
#   scripts/pin-images.sh            # rewrite the Dockerfile with current digests
#   scripts/pin-images.sh --check    # exit 1 when a pin is not the current digest
#
# Resolves with the first of: docker buildx imagetools, skopeo, crane, regctl;
# PIN_RESOLVER names another command that prints the digest of the reference
# given as its argument. Then build and test the images: scripts/images.sh --test.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
"") ;;
--check) check=true ;;
*)
	echo "usage: scripts/pin-images.sh [--check]" >&2
	exit 2
	;;
esac

resolve() {
	local ref=$1
	if [ -n "${PIN_RESOLVER:-}" ]; then
		$PIN_RESOLVER "$ref"
	elif command -v docker >/dev/null && docker buildx imagetools inspect "$ref" >/dev/null 2>&1; then
		docker buildx imagetools inspect --format '{{.Manifest.Digest}}' "$ref"
	elif command -v skopeo >/dev/null; then
		skopeo inspect --raw "docker://$ref" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/'
	elif command -v crane >/dev/null; then
		crane digest "$ref"
	elif command -v regctl >/dev/null; then
		regctl image digest "$ref"
	else
		echo "pin-images.sh: no resolver: install docker (buildx), skopeo, crane or regctl, or set PIN_RESOLVER" >&2
		return 1
	fi
}

refs=$(grep -oE '(docker/dockerfile|[a-z0-9./-]+):[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}' Dockerfile | sort -u)
[ -n "$refs" ] || {
	echo "pin-images.sh: no pinned image in the Dockerfile" >&2
	exit 1
}
stale=0
for pinned in $refs; do
	ref="${pinned%@*}"
	old="${pinned#*@}"
	new=$(resolve "$ref") || {
		echo "pin-images.sh: cannot resolve $ref" >&2
		exit 1
	}
	if ! [[ "$new" =~ ^sha256:[0-9a-f]{64}$ ]]; then
		echo "pin-images.sh: $ref resolved to '$new', not a sha256 digest" >&2
		exit 1
	fi
	if [ "$new" = "$old" ]; then
		echo "$ref: current ($old)"
		continue
	fi
	stale=1
	echo "$ref: $old -> $new"
	if ! $check; then
		sed -i.bak "s|${ref}@${old}|${ref}@${new}|g" Dockerfile && rm -f Dockerfile.bak
	fi
done
if $check && [ "$stale" = 1 ]; then
	echo "pin-images.sh: stale pins; run scripts/pin-images.sh" >&2
	exit 1
fi

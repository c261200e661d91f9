#!/usr/bin/env bash
# Benchmarks package changes against the git CLI on the generated monorepo
# of issue 3 (300 projects, ~20k files, 3,000 commits with merges and
# renames; cached under $TMPDIR by parameters). Prints the median wall times
# of a 1,000-commit and a 20-commit push for go-git Detect and for the git
# CLI (`git diff --no-renames --name-only` + `git log --no-renames
# --name-only`), their ratio, and the peak memory of one detection.
#   CHANGES_BENCH_RUNS=N  runs per median (default 11)
#   --bench               also run the `go test -bench` benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
CHANGES_BENCH=1 go test -count=1 -run '^TestBenchReport$' -v ./changes/ |
  grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$' -e '^ok '
if [[ "${1:-}" == "--bench" ]]; then
  go test -run '^$' -bench 'Detect|GitCLI' -benchmem ./changes/
fi

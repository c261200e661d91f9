#!/usr/bin/env bash
# Measures package changes against the git CLI on two generated monorepos,
# side by side in one run: today's (300 projects, 20,000 files) and the one
# of issue 14 (2,000 projects, 100,200 files), 3,000 commits each with
# merges and moves, cached under $TMPDIR by parameters (the first run builds
# them: a few minutes). For a 20-commit and a 1,000-commit push it prints
# the median wall and CPU times of Detect (in process) and of the git CLI
# doing the same work (`git diff --no-renames --name-only` + `git log
# --no-renames --name-only`), runs interleaved so both see the same load,
# their ratios, the peak RSS of a fresh process doing one detection, and the
# load average before and after. Exits 1 when a goal is missed:
#   20-commit push <= 2x the git CLI, 1,000-commit push <= 1.5x, peak RSS <= 120 MB.
# On a busy machine (load above the CPU count) wall times are noisy: rerun.
#   CHANGES_BENCH_RUNS=N  runs per median (default 11)
#   --bench               also run the `go test -bench` benchmarks (Detect,
#                         the git CLI, the pack reader vs go-git's storage,
#                         the index reader vs go-git's and the tree walk)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
CHANGES_BENCH=1 go test -count=1 -timeout 60m -run '^TestBenchReport$' -v ./changes/ >"$out" 2>&1 || status=$?
grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$' -e '^ok ' "$out" || true
if [[ "${1:-}" == "--bench" ]]; then
  go test -run '^$' -bench 'Detect|GitCLI|ObjectRead|Discovery|IndexRead' -benchmem ./changes/
fi
exit "$status"

#!/usr/bin/env bash
# bench-pipeline.sh: the scaling table of issue 15. Releases on simulated
# time (internal/simbench: the pipeline, the client and its pacer and one
# emulator per stage in a testing/synctest bubble, where the clock moves
# only when every goroutine waits), so the figures are exact and do not
# depend on how loaded the machine is:
#   - 12, 50 and 150 changed tools with 0 and 450 other tools on the
#     servers, against a token-bucket and a fixed-window limiter: makespan,
#     the critical-path bounds for the release's own test order and for the
#     best order, and the ratios; when the first test went out; the mean
#     test spacing; API calls per tool; 429s; the speed-up over a serial
#     loop. Each row releases twice: first without history, then (every
#     tool changed again) with the first report as --history.
#   - the bot's own CPU time and peak RSS per row: the built binary in a
#     process of its own (against the emulators over HTTP, on a scaled clock).
#   - a fan-out: plan --fan-out-jobs 4 and its lanes, each job its own
#     amigo-release run on one key, 429s counted; and the same tools as
#     before, one job per tool 4 at a time, for comparison.
# It prints the table and the load average, and exits 1 when a goal of the
# issue is missed (each is named).
#
#   scripts/bench-pipeline.sh          # the whole table (a few minutes)
#   scripts/bench-pipeline.sh --quick  # 12 tools, and 50 with 450 others
set -euo pipefail
cd "$(dirname "$0")/.."
rows="12x0,12x450,50x0,50x450,150x0,150x450"
if [ "${1:-}" = --quick ]; then rows="12x0,50x450"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/amigo-release" .
before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
start=$(date +%s)
status=0
go test ./internal/simbench -run '^TestScale$' -count=1 -timeout 60m -args \
  -simbench.rows "$rows" -simbench.fanout 12x4 -simbench.bin "$tmp/amigo-release" -simbench.out "$tmp/table.txt" \
  >"$tmp/log.txt" 2>&1 || status=$?
if [ -s "$tmp/table.txt" ]; then cat "$tmp/table.txt"; else cat "$tmp/log.txt"; fi
echo
echo "wall time $(( $(date +%s) - start )) s on $(nproc 2>/dev/null || echo '?') cores; load average before: $before, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "(the table is simulated time: the load does not change it; the bot's CPU time it may, a little)"
exit $status

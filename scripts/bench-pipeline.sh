#!/usr/bin/env bash
# bench-pipeline.sh: run the pipeline benchmark (issue 4, Performance) and
# print its figures: the makespan of a release of 12 changed tools through 4
# stages (publish 1–5 simulated minutes, test gate on the first stage,
# documented rate limits, compressed time) against the critical-path lower
# bound, the number of 429 answers, and the speed-up over a serial run.
# Takes about a minute of real time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test ./pipeline -run '^$' -bench '^BenchmarkRun_12Tools4Stages$' -benchtime 1x -count 1 2>&1) || { echo "$out"; exit 1; }
line=$(echo "$out" | grep '^BenchmarkRun_12Tools4Stages')
metric() { echo "$line" | tr '\t' '\n' | sed -n "s/^ *\([0-9.e+-]*\) $1\$/\1/p"; }
echo "$out" | grep -E '^\s+bench_test.go.*429:' || true
cat <<REPORT
workload: 12 tools x 4 stages (us -> eu -> ap -> ca), test gate on us, publish 1-5 min per tool and stage (seeded), documented rate limits
lower bound (order used): $(metric order-bound-min) simulated min  = max over the k-th tested tool of k x 1 min (test-tool 1/min) + test + its 4 publishes
makespan:                 $(metric makespan-min) simulated min  -> $(metric x-order-bound) x the bound for the test order used
strict bound:             $(metric bound-min) simulated min  (best test order, knowing build times in advance) -> $(metric x-bound) x
                          (testing blind costs $(metric blind-order-gap) x on average over 1000 workloads, whatever the scheduler)
429 responses:            $(metric 429s)
serial run:               $(metric serial-min) simulated min (one tool, one stage, one call at a time; pure work $(metric serial-work-min) min)
speed-up over serial:     $(metric speedup) x
REPORT

#!/usr/bin/env bash
# bench-pipeline.sh: run the pipeline benchmark (issue 4, Performance) and
# print its figures: the makespan of a release of 12 changed tools through 4
# stages (publish 1-5 simulated minutes, test gate on the first stage,
# documented rate limits, compressed time) against the critical-path lower
# bounds, the number of 429 answers, and the speed-up over a serial run.
# Every figure is simulated time (1 simulated minute = 1 real second in the
# concurrent runs). The scaled clock runs on wall time: on a machine whose
# cores are saturated by other work, stalls become simulated minutes and
# late deliveries can beat the client pacer's 5% margin (429s); run it on
# an idle machine (check the load average) for figures worth quoting.
# Takes about a minute and a half of real time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test ./pipeline -run '^$' -bench '^BenchmarkRun_12Tools4Stages$' -benchtime 1x -count 1 2>&1) || { echo "$out"; exit 1; }
line=$(echo "$out" | grep '^BenchmarkRun_12Tools4Stages')
metric() { echo "$line" | tr '\t' '\n' | sed -n "s/^ *\([0-9.e+-]*\) $1\$/\1/p"; }
echo "$out" | grep -E '^\s+bench_test.go.*429:' || true
cat <<REPORT
workload: 12 tools x 4 stages (us -> eu -> ap -> ca), test gate on us, publish 1-5 min per tool and stage
          (seeded, unknown to the pipeline), documented rate limits (test-tool 1/min), concurrency 16 per stage
makespan:                 $(metric makespan-min) simulated min
critical-path lower bound, for the test order the run used:
                          $(metric order-bound-min) min -> makespan $(metric x-order-bound) x this bound
                          = max over the k-th tested tool (k from 0) of k x 1 min + 10 s test + its 4 publishes in a row;
                          analysis, HTTP and the client pacer's 5% margin on test-tool are left out
critical-path lower bound, best test order (needs every build time in advance):
                          $(metric bound-min) min -> makespan $(metric x-bound) x this bound
                          (same formula, longest publish chain tested first; a test order chosen without
                          knowing build times costs $(metric blind-order-gap) x this bound on average over 1000 workloads)
429 responses:            $(metric 429s)
serial run:               $(metric serial-min) simulated min measured (one tool, one stage, one call at a time;
                          its pure work, tests + publishes, is $(metric serial-work-min) min)
speed-up over serial:     $(metric speedup) x the measured serial run ($(metric speedup-work) x its pure work)
default concurrency (4):  makespan $(metric default-conc-makespan-min) min, $(metric default-conc-429s) x 429
REPORT
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
# The goals of issue 4, where they can be met without knowing build times
# in advance (see the bound lines above): fail loudly when missed.
status=0
if awk -v x="$(metric x-order-bound)" 'BEGIN { exit !(x > 1.10) }'; then
  echo "GOAL MISSED: makespan is $(metric x-order-bound) x the order bound (goal <= 1.10)"; status=1
fi
for m in 429s default-conc-429s; do
  n=$(metric "$m")
  if [ -n "$n" ] && [ "$n" != "0" ]; then
    echo "GOAL MISSED: $n x 429 ($m); on a loaded machine scaled-time stalls cause these: check the load average"; status=1
  fi
done
exit $status

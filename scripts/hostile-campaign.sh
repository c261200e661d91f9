#!/usr/bin/env bash
# hostile-campaign.sh: run the hostile-input campaign of issue 12 (e2e
# TestHostileCampaign) and print its counts: cases and runs (each case runs
# the built binary as GitHub Actions and as Azure Pipelines), sinks and
# bytes checked, leaks, injections, live markup, bad input that did not
# exit 2 or that published, the largest peak RSS, wall time.
#
#   scripts/hostile-campaign.sh [CASES]     # default 40
#
# Each case: generated hostile text in commit subjects, bodies and
# authors, tool descriptions, tags and envvar names, plan keys and values,
# branch names, project paths, server error bodies (echoing the request's
# credentials and body) and test exception text and stack traces; every
# sink (stdout, stderr, step outputs, job summary, PR comment or thread,
# JSON report) read the way the runner reads it. Each case then runs
# validate, notes, status and rollback in the same CI against servers
# answering hostile listings and error bodies (the "day-two" counts), each
# of their sinks judged the same way. A failing case prints
# its findings; rerun it alone with
#   AMIGO_HOSTILE_CASES=N go test ./e2e -run 'TestHostileCampaign/case/N/' -v
# Exits non-zero when anything leaks, injects, or is not bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-40}"
start=$(date +%s)
status=0
out=$(AMIGO_HOSTILE_CASES="$cases" go test ./e2e -run '^TestHostileCampaign$' -count=1 -v -timeout 20m 2>&1) || status=$?
end=$(date +%s)
if [[ $status -ne 0 ]]; then
  echo "$out" | grep -E 'hostile_test.go:[0-9]+: ' | grep -v 'hostile campaign:' | cut -c1-400 | head -60 || true
  echo "$out" | grep -E '^(panic|FAIL|---)' || true
fi
echo "$out" | sed -n 's/^ *hostile_test.go:[0-9]*: hostile campaign: /hostile campaign: /p'
echo "hostile campaign: $cases cases in $((end - start)) s of wall time including the build, on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
exit $status

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
# shellcheck source=scripts/campaign.sh
source "$(dirname "$0")/campaign.sh"
run_campaign "hostile campaign" AMIGO_HOSTILE_CASES "${1:-40}" TestHostileCampaign hostile_test.go 20m cases "" 60

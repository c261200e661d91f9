#!/usr/bin/env bash
# fault-campaign.sh: run the seeded fault campaign of issues 6 and 13 (e2e
# TestFaultCampaign) and print its counts: seeds, faults injected by kind,
# client retries, 429s seen, unknown outcomes, publish attempts and retries,
# reconciliations, tools left for the rerun, refused starts (HEAD off the
# branch tip, unset from_env), branches moved mid-release, interrupted runs,
# 429s waited out at the end of a budget, the checks of "no version of an
# untested commit serves beyond the first stage" and "no stage serves a
# version a stage it needs does not", invariant violations, wall time.
#
#   scripts/fault-campaign.sh [SEEDS]     # default 200 (the full campaign)
#
# Each seed: a fresh repository and four emulators (us, eu-central-1,
# ap-southeast-2, ca-central-1) over HTTP with random 409/429/503, latency and
# connections dropped after the work, and some of: a run off the branch tip
# and one without a from_env variable (both must not start), the branch moving
# between a test and a publish, an interrupt at a random point, 429s beyond
# the retry budget; the pipeline runs in-process; the invariants are checked
# against the emulators' own state; a second run without faults must finish
# the release. A failing seed is printed with its plan and log; rerun it
# alone with
#   AMIGO_FAULT_SEEDS=N go test ./e2e -run 'TestFaultCampaign/seeds/seed-N$' -v
# Exits non-zero when an invariant is violated.
set -euo pipefail
# shellcheck source=scripts/campaign.sh
source "$(dirname "$0")/campaign.sh"
run_campaign "fault campaign" AMIGO_FAULT_SEEDS "${1:-200}" TestFaultCampaign campaign_test.go 15m seeds "seed [0-9]+: " 1000

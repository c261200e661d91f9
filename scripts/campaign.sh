#!/usr/bin/env bash
# campaign.sh: what the e2e campaign scripts share; sourced by
# fault-campaign.sh and hostile-campaign.sh, not run on its own.
#
#   run_campaign NAME VAR COUNT TEST FILE TIMEOUT UNIT FINDING MAX
#
# runs the e2e test TEST with VAR=COUNT in its environment and prints, when
# it fails, the first MAX lines the test logged from FILE that start with
# the regular expression FINDING (its findings, without plans and the
# campaign's own count lines, each cut to 400 characters) and go test's
# failure lines; then the count lines the test
# logged as "NAME: ..." and the wall time with the machine's cores and load
# average. It returns go test's exit status.
run_campaign() {
  local name=$1 var=$2 count=$3 test=$4 file=$5 timeout=$6 unit=$7 finding=$8 max=$9
  local start end status=0 out
  cd "$(dirname "${BASH_SOURCE[0]}")/.." || return
  start=$(date +%s)
  out=$(env "$var=$count" go test ./e2e -run "^$test\$" -count=1 -v -timeout "$timeout" 2>&1) || status=$?
  end=$(date +%s)
  if [[ $status -ne 0 ]]; then
    echo "$out" | grep -E "$file:[0-9]+: $finding" | grep -v " plan:\$" | grep -v "$name:" | cut -c1-400 | head -"$max" || true
    echo "$out" | grep -E '^(panic|FAIL|---)' || true
  fi
  echo "$out" | sed -n "s/^ *$file:[0-9]*: $name: /$name: /p"
  echo "$name: $count $unit in $((end - start)) s of wall time including the build, on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
  return $status
}

// Package e2e is the end-to-end suite of amigo-release: scenario tests that
// drive the built binary against Amigo emulators over HTTP, a fake GitHub
// API and real git repositories; a table of hostile and broken inputs; and a
// seeded fault campaign that runs the pipeline under random faults and
// checks invariants against the emulators' own state.
//
// Everything is in the tests; this file only documents them.
//
//	go test ./e2e                                  # scenarios, bad inputs, a handful of campaign seeds
//	go test -short ./e2e                           # the same, 5 campaign seeds
//	AMIGO_FAULT_SEEDS=200 go test ./e2e -run TestFaultCampaign -v   # the full campaign
//	scripts/fault-campaign.sh [SEEDS]              # the full campaign, printing its counts
//
// TestMain builds the binary once (go build into a temporary directory);
// every scenario runs it as a CI job would, with a clean environment made
// of the variables the scenario sets.
package e2e

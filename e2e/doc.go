// Package e2e is the end-to-end suite of amigo-release: scenario tests that
// drive the built binary against Amigo emulators over HTTP, a fake GitHub
// API and real git repositories; a table of hostile and broken inputs; a
// seeded fault campaign that runs the pipeline under random faults and
// checks invariants against the emulators' own state; and a hostile-input
// campaign that judges everything the binary writes by the runners' rules
// (internal/cilog). Everything is in the tests; this file only documents
// them.
//
//	go test ./e2e                        # everything, 12 fault seeds and 8 hostile cases (about 60 s)
//	go test -short ./e2e                 # the same with 5 fault seeds and 4 hostile cases
//	AMIGO_FAULT_SEEDS=200 go test ./e2e -run '^TestFaultCampaign$' -v   # the full campaign
//	scripts/fault-campaign.sh [SEEDS]    # the full campaign, printing its counts
//	scripts/hostile-campaign.sh [CASES]  # the hostile-input campaign (default 40 cases), printing its counts
//
// TestMain builds the binary once (go build into a temporary directory).
// Each scenario has its own origin repository (which the emulators build
// from, as the Amigo API builds the team's repository), a CI checkout made
// with git clone, and four emulated regions (package demo's Cluster) whose
// clocks run 3000 times faster, like the binary's (--time-scale). The binary
// runs with a clean environment made of the variables the scenario sets.
//
// # Tests
//
//	TestFirstRelease                         a monorepo's first release: 1.0.0 everywhere, tested once, nothing on a second run
//	TestSecondPush                           a feat in one tool and a fix in another: minor and patch, the third left alone
//	TestBreakingChange                       "!" and a BREAKING CHANGE footer: major
//	TestForcePush                            the released commit rewritten away: counted from the merge base, released once
//	TestShallowClone                         a depth-1 checkout of a later push: deepened or refused with fetch-depth: 0
//	TestShallowFirstRelease                  a first release from a depth-1 checkout warns that history is cut
//	TestPRPreviewThenMergeUpdatesComment     GitHub Actions: pull_request preview (nothing published), then the merge's
//	                                         push releases and edits the same comment (fake GitHub API)
//	TestRerunAfterThirdStageFailure          the third stage refuses; the rerun finishes, nothing published twice
//	TestBadInput                             broken plans and projects, missing credentials, unreachable server, name clash:
//	                                         exit 2 (3 for the server), a clear message, nothing published
//	TestBadProjectMetadataStopsTheStart      a bad [tool.amigo-release] stops the start (exit 2), nothing created
//	TestHostileCommitMessages                ::set-output, ##vso[, <script>, @mentions, | and a 1 MB body: released,
//	                                         rendered harmlessly on stdout, in the summary and the PR comment
//	TestLostPublishAnswerAtTheEndOfTheBudget a dropped publish answer when the retry budget is spent: found, not failed
//	TestCapRefusalPrunesAndRetriesOnce       a publish refused for the active cap: prune one, publish once more
//	TestHeadOffTheBranchTip                  a detached HEAD on another branch: exit 2, nothing published (issue 13)
//	TestBranchMovesDuringTheRelease          a push between test and publish: caught, kept in us only, tested
//	                                         and adopted by the run from the new tip, the old commit refused
//	Test429AtTheEndOfTheBudget               a 429 after the budget is waited out once more
//	TestInterrupts                           SIGINT mid-publish (exit 130, pending), SIGINT+SIGTERM (unknown); reruns finish
//	TestRegionDownIsAnOutage                 a region's documented address refusing connections: exit 3
//	TestFirstReleaseFailingBeforePublishReportsMajor, TestHintsNameTheStageSettings
//	TestFaultCampaign                        seeded chaos (409/429/503/latency/drops), moving branches, interrupts,
//	                                         refused starts, and invariants (see its doc)
//	TestHostileCampaign                      generated hostile text in every field that reaches the output, through the
//	                                         binary as GitHub Actions and as Azure Pipelines; every sink read as the runner
//	                                         reads it: no command but its own, no secret in any encoding, no live markup,
//	                                         bounded RSS, bad input exits 2 with nothing published (see its doc)
package e2e

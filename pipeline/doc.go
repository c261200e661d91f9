// Package pipeline runs a release: it picks each tool's base commit, asks
// package changes which tool projects changed and how, and then, for every
// changed tool and every stage of the promote plan in DAG order, ensures the
// tool exists, syncs its environment variables, runs the test gate,
// publishes (retrying 409s within a bounded budget and reconciling unknown
// outcomes so that one commit is never published twice in one stage),
// verifies that the published commit is the tested one, smoke-tests, soaks
// and prunes old versions beyond the stage's active cap.
//
// It does not render reports (package report does), knows nothing of GitHub
// or Azure DevOps (the faces implement Logger), and holds no retry policy
// that is a property of the API (the amigo client paces, retries reads and
// honours 429s); it owns the release policy.
//
// # API
//
//	rep, err := pipeline.Run(ctx, pipeline.Options{
//		Plan: plan, RepoPath: ".", Head: sha, Base: "", EventBefore: before,
//		Tools: nil, FailFast: false, Mode: pipeline.ModeRun, // or ModePlan, ModeOffline
//		Clock: clock.Real{}, Getenv: os.Getenv,
//		Clients: pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: os.Getenv}),
//		Logger: pipeline.NewTextLogger(os.Stdout), OnSecrets: mask,
//	})
//	rep.OK()                  // everything that should release did
//	b, err := rep.JSON()      // --report-json; the CLI writes it through its exit
//	pipeline.SecretValues(plan, os.Getenv) // mask these before printing anything
//
// Run's error is set only when nothing could be done: bad options, an
// unreadable repository, a server unreachable during the analysis, or a
// *StartError listing every problem the checks before the first mutating
// call found. Per-tool failures are in the Report. The API interface is
// the slice of the Amigo client a stage needs (FromClient adapts an
// *amigo.Client); a ClientFactory builds one per stage, so tests and the
// demo point stages at emulators.
//
// # Release safety (DESIGN §7)
//
// A version serves in a stage only if the test gate passed on its exact
// commit, and a stage only gets versions that serve in every stage it
// needs. The API tests and publishes a branch tip, never a commit, so:
//
//   - All or nothing at the start (preflight.go): before the first mutating
//     call the run checks every stage's credential variables (set, and
//     sendable in a header), that the commit being released is the tip of
//     every stage's branch (tips.go: the remote through Options.Remote when
//     it can be read, else refs/remotes/origin/<branch> or
//     refs/heads/<branch>), signs in to every stage, analyses (a discovery
//     option that matches nothing, a project that cannot be a tool but
//     would be released or is named by the plan: a problem each), and checks
//     every tool's settings (metadata, every from_env variable) and runtime
//     contract in every stage. Any problem: a *StartError with one Problem
//     each, and nothing is created.
//   - verify (verify.go) compares a published version's tool_commit_hash
//     with the tested commit. A version built from another commit (the
//     branch moved between test and publish) fails its stage, so it is
//     never promoted; beyond the first stage it is deprecated at once, and
//     in the first stage too with publish.deprecate_untested.
//   - A version found already serving the commit (an earlier run's) is
//     adopted, never published again, but only after this run's gates: in
//     a test-gated stage the test runs again on it and verify checks that
//     the branch tip is still that commit.
//   - A run stopped while a publish builds cannot check what the server
//     builds after it. Every run therefore looks at every stage of every
//     project once and withdraws a stray: a version serving beyond a stage
//     it needs that never served its commit (strays.go). For a project the
//     run does not release from scratch, the analysis asks every stage and
//     the run withdraws before anything else changes; the tool is then
//     released again from head through every gate, so the stages it
//     lagged in catch up. For a tool it releases, verify's list after each
//     later stage's publish is that stage's check, and the stages the
//     chain does not reach are listed when it ends (sweepStrays).
//   - on_failure: continue lets the stages that need a failed stage go on
//     only when it serves the tested commit (a failed smoke).
//
// Interrupts (Options.Stop): nothing new starts, waits end, calls in flight
// go on until ctx is cancelled (the caller's grace period), and a publish
// that finishes is still verified (a halt does the same): a version built
// from another commit is withdrawn beyond the first stage even then. A
// stage not started is pending, one whose publish was in flight when ctx
// ended is unknown, and Report.Interrupted is set.
//
// # Base commit (DESIGN §5)
//
// Options.Base wins. Otherwise a tool's base is the tool_commit_hash of its
// newest active version in the first stage when that commit is in local
// history (in a shallow clone it is used anyway: change detection deepens
// with Options.Deepen or says fetch-depth: 0); a commit gone from history
// falls back to the push event's before; a tool that does not exist yet (or
// has no version) is a first release. When the first stage already serves
// head (a rerun after a later stage failed), the base is the newest commit
// of the first lagging stage, so the rerun finishes the lagging stages.
// ModeOffline makes no API call and uses Base or EventBefore.
//
// ModePlan predicts each stage's new version as that stage's server will
// number it: the bump over the highest version the tool ever had there,
// deprecated ones included (API.HighestVersion, asked only in plan mode:
// numbering.go).
//
// # Per stage
//
// stageSteps (stage.go) is the one ordered list of the steps a stage runs,
// each in the file named for it, each with the condition under which it
// runs and what plan mode says of it:
//
//	ensure    find the tool (the analysis' listing) or create it; update description and tags
//	versions  the active versions (the analysis' list where it has one, none for a tool just
//	          created; listed again only where a version serves the commit: see Calls);
//	          decide the bump (stageBump, bump.go), or find a version that already serves
//	          the commit (adopted after the gates below, only from a list read now)
//	envvars   insert missing, update existing; never delete; secret values only to the API
//	test      the test gate (queued at the start, see Scheduling)
//	publish   with jittered exponential backoff on 409/429/503 within publish.retry_budget,
//	          listing versions after a lost answer or a 409 before any new attempt and once
//	          more when retrying ends; a refusal for too many active versions deprecates the
//	          oldest unpinned one and retries once, and the run remembers the count that
//	          server refused at and makes room first on later publishes there (caprule.go)
//	verify    the version pins the tested commit (see Release safety)
//	smoke     invoke with the test inputs (again for an adopted version)
//	soak      without the concurrency slot; for an adopted version what is left of it
//	prune     beyond active_cap (newest by semver kept, exact ==X.Y.Z, never the
//	          version served or a pinned one), from verify's list; after dependents may
//	          start; failures are warnings
//
// Every retry of the run follows the plan's publish policy (retry.go), and
// a 429 that arrives when the budget is spent is waited out once more.
// Defaults come from promote (Parse fills them in); the pipeline sets none.
//
// # Scheduling
//
// Tools run concurrently; a tool's stage starts when the stages it needs are
// done for that tool (on_failure: continue counts a failure after the
// stage served the tested commit as done;
// halt_tool blocks only that tool's dependent stages; halt and
// Options.FailFast stop every tool: nothing new starts, waits end, calls in
// flight finish so no outcome is left unknown; a failing stage halts the
// run before it gives its slot back). Each stage holds one of its
// concurrency slots while it works and gives it back before soaking.
// test-tool is limited to one call a minute per server and user, so the
// test queues (one per server and user, testqueue.go) start before the
// analysis, and an early feed (early.go) gives them each tool as soon as
// its first stage's versions show it releases: the first test goes out
// within seconds for any number of tools, while the analysis reads on (the
// feed runs only when no check before the first mutating call can fail any
// more). The queue takes its pacing turn first and then picks the job with
// the most work left after its test: the longest path of stages through
// the DAG, each its expected publish (Options.History: the durations an
// earlier run measured, history.go; else a typical 3 minutes) plus its
// soak, none for skipped or already-served stages. Every test-gated
// stage's test is queued, also where the stage already serves the commit
// (see Release safety). The report keeps what the run learned (publish
// durations, each tool's id on each server) for the next run's history;
// with the ids the analysis looks tools up 20 a call instead of paging
// through the organization.
//
// Calls: the analysis lists the first stage's versions of every project
// (the bases) and the later stages' of every project the run does not
// release from scratch (the stray check of strays.go), each as soon as
// its first stage shows it does not release (laterlists.go), beside the
// rest of the first stage's lists; a stage uses that
// list where it has no version of the commit; a later stage of a released
// tool publishes without listing (publishesBlind) and verify's list after
// it is its stray check; prune uses verify's list, and a tool created in
// this run lists nothing: 10 calls per released tool for 4 stages.
//
// Fan-out (fanout.go): plan with Options.FanOut deals the tools to lanes
// with test slots of their own; a lane's run keeps to its Share
// (Options.Share, amigo.Share), so jobs on one key never exceed its limits
// together.
//
// internal/simbench measures all this on simulated time (see
// scripts/bench-pipeline.sh).
//
// # Logs and secrets
//
// One line per step ("[+elapsed] tool stage step: what (duration)") is
// buffered per tool and written as one Logger group when the tool is done;
// one live line per settled stage. Every line and every test output in the
// report passes through a masker of the plan's secret values and the
// projects' secret envvar values (Options.OnSecrets hands the latter to the
// caller as soon as they are known).
package pipeline

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
// Run's error is set only when nothing could be done (bad options or
// credentials, unreadable repository, a server unreachable during the
// analysis); per-tool failures are in the Report. The API interface is the
// slice of the Amigo client a stage needs (FromClient adapts an
// *amigo.Client); a ClientFactory builds one per stage, so tests and the
// demo point stages at emulators.
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
// # Per stage
//
// ensure (the analysis' listing of the stage's tools, paged through once;
// create when absent, finding it after a 409 if made meanwhile; update
// description/tags) → idempotent resume (a version already pinned to the
// commit: up-to-date, nothing published, but the smoke runs again and what
// is left of the soak since the version's creation is waited, so a rerun
// never promotes past a gate the earlier run did not pass) → envvars (insert missing, update
// existing; never delete; secret values only to the API) → required
// envvars check → test gate → publish (bump from the commits; major for a
// tool without versions in the stage; StageReport.Bump) with jittered
// exponential backoff on 409/429/503 within plan publish.retry_budget,
// listing versions after a lost answer or a 409 (an earlier or concurrent
// run's publish of the same commit may be in progress) before any new
// attempt and once more when retrying ends, and on a refusal for too many
// active versions deprecating the oldest unpinned one and retrying once →
// verify (tool_commit_hash is the tested commit) → smoke (invoke with the
// test inputs) → soak (cut short by a halt: blocked, not failed) → (stage
// done for dependents) → prune beyond active_cap (newest by semver kept,
// exact ==X.Y.Z, never the new or a pinned version; failures are warnings).
//
// # Scheduling
//
// Tools run concurrently; a tool's stage starts when the stages it needs are
// done for that tool (on_failure: continue counts a failure as done;
// halt_tool blocks only that tool's dependent stages; halt and
// Options.FailFast stop every tool: nothing new starts, waits end, calls in
// flight finish so no outcome is left unknown; a failing stage halts the
// run before it gives its slot back). Each stage holds one of its
// concurrency slots while it works and gives it back before soaking.
// test-tool is limited to one call a minute per server and user, so every
// test-gated stage's test is queued at the start, per server, the tools
// with the most work left after the test first (longest path of stages
// through the DAG, each a typical 3-minute publish plus its soak, none for
// skipped or already-served stages): the queue never idles, and publishes
// overlap with the remaining tests. bench_test.go measures the makespan of
// 12 tools × 4 stages against the critical-path bound (see
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

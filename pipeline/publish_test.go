package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

func TestRun_conflictStormDuringPublish(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.servers["us"].FailNext(amigotest.OpPublishVersion, 6, http.StatusConflict, "")
	rep := h.run(h.chain(""), nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.Status != pipeline.StatusReleased {
		t.Fatalf("us = %s (%s), want released after the 409s\n%s", st.Status, st.Error, h.log)
	}
	if st.Attempts != 7 {
		t.Errorf("attempts = %d, want 7 (6 conflicts, then success)", st.Attempts)
	}
	if rep.Stats.PublishRetries != 6 || rep.Stats.Tests != 1 {
		t.Errorf("stats = %+v, want 6 publish retries and 1 test", rep.Stats)
	}
	if n := h.count("us", amigotest.OpPublishVersion, http.StatusConflict); n != 6 {
		t.Errorf("emulator saw %d 409s, want 6", n)
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("active = %v, want [1.0.0]", got)
	}
}

func TestRun_conflictStormExhaustsBudget(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.servers["us"].FailNext(amigotest.OpPublishVersion, 1000, http.StatusConflict, "")
	plan := h.chain("")
	plan.Publish.RetryBudget = 20 * time.Minute
	rep := h.run(plan, nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if rep.OK() || st.Status != pipeline.StatusFailed || !strings.Contains(st.Error, "retry budget") {
		t.Fatalf("us = %s (%q), want failed naming the retry budget", st.Status, st.Error)
	}
	// Backoff from 10s doubling to 1m: about 20 attempts fit in 20m; far
	// fewer when the machine is slow, never the 1000 the storm offers.
	if st.Attempts < 2 || st.Attempts > 40 {
		t.Errorf("attempts = %d, want a bounded number within a 20m budget", st.Attempts)
	}
	if n := h.count("us", amigotest.OpPublishVersion, http.StatusConflict); n != st.Attempts {
		t.Errorf("emulator saw %d 409s for %d attempts", n, st.Attempts)
	}
}

func TestRun_droppedConnectionAfterPublish(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.servers["us"].DropAfterWork(amigotest.OpPublishVersion, 1)
	rep := h.run(h.chain(""), nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" {
		t.Fatalf("us = %s %s (%s), want released 1.0.0\n%s", st.Status, st.VersionAfter, st.Error, h.log)
	}
	vs := h.versions("us", "weather")
	if len(vs) != 1 || vs[0].ToolCommitHash != head {
		t.Fatalf("emulator has %d versions (%+v), want exactly one for %s: never two for one commit", len(vs), vs, head)
	}
	if n := h.count("us", amigotest.OpPublishVersion, 0); n != 1 {
		t.Errorf("publish sent %d times, want 1 (the lost answer is reconciled by listing versions)", n)
	}
	if !strings.Contains(strings.Join(st.Warnings, "\n"), "unknown outcome") {
		t.Errorf("warnings %v do not mention the unknown outcome", st.Warnings)
	}
	if rep.Stats.Reconciled != 1 || rep.Stats.PublishAttempts != 1 {
		t.Errorf("stats = %+v, want 1 attempt, 1 reconciled", rep.Stats)
	}
}

// A publish that outlasts publish.timeout has an unknown outcome (the build
// goes on on the server): the pipeline lists versions before every new
// attempt and finds the version by its commit once the build is done.
func TestRun_publishTimeoutIsReconciled(t *testing.T) {
	// A build of 10 simulated minutes is 100 real ms; every publish call
	// gives up after 20 real ms, so only reconciliation can find it.
	h := newHarness(t, amigotest.Options{PublishLatency: amigotest.Fixed(10 * time.Minute)}, "us")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	plan.Publish.Timeout = 20 * time.Millisecond
	rep := h.run(plan, nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" {
		t.Fatalf("us = %s %s (%s), want released 1.0.0\n%s", st.Status, st.VersionAfter, st.Error, h.log)
	}
	if vs := h.versions("us", "weather"); len(vs) != 1 || vs[0].ToolCommitHash != head {
		t.Fatalf("versions %+v, want exactly one for %s", vs, head[:12])
	}
	if rep.Stats.Reconciled != 1 {
		t.Errorf("stats %+v, want the version found by reconciliation", rep.Stats)
	}
}

// A run cancelled (or killed) while its publish builds leaves that publish
// running on the server. A rerun started at once sees no version for the
// commit, tests, and gets 409 while the earlier publish builds: it must find
// that version by its commit instead of publishing the commit a second time.
func TestRun_rerunWhileEarlierPublishStillBuilds(t *testing.T) {
	// In a bubble: the earlier publish's hour lasts an hour of simulated
	// time however long the rerun takes to get to its publish in real time.
	synctest.Test(t, testRerunWhileEarlierPublishStillBuilds)
}

func testRerunWhileEarlierPublishStillBuilds(t *testing.T) {
	h := newBubbleHarness(t, amigotest.Options{PublishLatency: amigotest.Fixed(time.Hour)}, "us")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := h.runAsync(ctx, plan)
	h.waitFor("the first publish never started", h.publishing("us", "weather"))
	cancel()
	// The publish was sent and its answer never came: unknown, not
	// pending (which would say nothing was sent).
	if rep := <-done; stage(t, tool(t, rep, "weather"), "us").Status != pipeline.StatusUnknown {
		t.Fatalf("cancelled run: us = %s, want unknown", stage(t, tool(t, rep, "weather"), "us").Status)
	}
	if !h.servers["us"].Busy(org, toolID(h, "us", "weather")) {
		t.Fatalf("the earlier publish finished before the rerun started: the test proves nothing")
	}

	rep := h.run(plan, nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" {
		t.Fatalf("rerun: us = %s %s (%s), want released 1.0.0 (the earlier publish's)\n%s", st.Status, st.VersionAfter, st.Error, h.log)
	}
	if n := h.count("us", amigotest.OpPublishVersion, http.StatusConflict); n == 0 {
		t.Errorf("the rerun never met the earlier publish (no 409): the test proves nothing")
	}
	// One live version of the commit. (The earlier publish can finish in
	// the instant between a look and the next attempt, which the server
	// then accepts: that second version must be deprecated at once and
	// reported.)
	live := 0
	for _, v := range h.versions("us", "weather") {
		switch {
		case !v.Deprecated && v.ToolCommitHash == head:
			live++
		case v.Deprecated && !slices.Contains(st.Withdrawn, v.Version.String()):
			t.Errorf("%s deprecated without being reported", v.Version)
		}
	}
	if live != 1 {
		t.Fatalf("versions %+v, want exactly one live for %s: never two for one commit", h.versions("us", "weather"), head[:12])
	}
	if rep.Stats.Reconciled != 1 {
		t.Errorf("stats = %+v, want 1 reconciled", rep.Stats)
	}
}

func TestRun_rerunAfterPartialFailure(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu", "ap", "ca")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	h.servers["ap"].FailNext(amigotest.OpPublishVersion, 1, http.StatusBadRequest, `{"detail":"Tool build has failed."}`)
	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	if rep.OK() || w.Status != pipeline.StatusFailed {
		t.Fatalf("first run: %s, want failed in ap", w.Status)
	}
	want := map[string]pipeline.Status{"us": pipeline.StatusReleased, "eu": pipeline.StatusReleased, "ap": pipeline.StatusFailed, "ca": pipeline.StatusBlocked}
	for sn, ws := range want {
		if got := stage(t, w, sn).Status; got != ws {
			t.Errorf("first run %s = %s, want %s", sn, got, ws)
		}
	}
	if !strings.Contains(stage(t, w, "ap").Error, "build has failed") {
		t.Errorf("ap error %q does not carry the server's message", stage(t, w, "ap").Error)
	}
	h.servers["us"].ResetRequests()
	h.servers["eu"].ResetRequests()

	rep = h.run(plan, nil)
	w = tool(t, rep, "weather")
	if !rep.OK() {
		t.Fatalf("rerun not OK: %v\n%s", toolNames(rep), h.log)
	}
	want = map[string]pipeline.Status{"us": pipeline.StatusUpToDate, "eu": pipeline.StatusUpToDate, "ap": pipeline.StatusReleased, "ca": pipeline.StatusReleased}
	for sn, ws := range want {
		st := stage(t, w, sn)
		if st.Status != ws || st.VersionAfter != "1.0.0" {
			t.Errorf("rerun %s = %s %s, want %s 1.0.0", sn, st.Status, st.VersionAfter, ws)
		}
	}
	for _, sn := range h.stages {
		vs := h.versions(sn, "weather")
		if len(vs) != 1 || vs[0].ToolCommitHash != head {
			t.Errorf("%s has versions %+v, want exactly one at %s", sn, vs, head)
		}
	}
	for _, sn := range []string{"us", "eu"} {
		if n := h.count(sn, amigotest.OpPublishVersion, 0); n != 0 {
			t.Errorf("rerun sent %d publishes to %s, which already served the commit", n, sn)
		}
	}
	// The test gate runs again on the version us already serves before it
	// is adopted and promoted: nothing shows that the first run's test
	// passed on that version's commit.
	if n := h.count("us", amigotest.OpTestTool, http.StatusOK); n != 1 || len(stage(t, w, "us").Tests) != 1 {
		t.Errorf("rerun sent %d tests to us (report: %d results), want 1 before adopting 1.0.0", n, len(stage(t, w, "us").Tests))
	}
}

func TestRun_chaosNeverPublishesTwice(t *testing.T) {
	signInFaults := 0
	defer func() {
		if !t.Failed() && signInFaults == 0 {
			t.Errorf("no sign-in was faulted: the test does not cover sign-in")
		}
	}()
	for seed := int64(1); seed <= 4; seed++ {
		// In a bubble: the client's and the pipeline's retry budgets are
		// simulated minutes that real time (a loaded machine) cannot use up.
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newBubbleHarness(t, amigotest.Options{}, "us", "eu")
				head := h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", ""), testkit.Project("hotels", "hotels", "")))
				for i, srv := range h.servers {
					// Every operation the pipeline calls, sign-in included.
					srv.SetChaos(&amigotest.Chaos{Seed: seed*31 + int64(len(i)), Conflict: 0.2, RateLimit: 0.15, Unavailable: 0.15, Drop: 0.2, Latency: 0.1,
						Ops: []string{amigotest.OpSignIn, amigotest.OpListTools, amigotest.OpCreateTool, amigotest.OpModifyTool, amigotest.OpModifyEnvvars, amigotest.OpTestTool,
							amigotest.OpPublishVersion, amigotest.OpListVersions, amigotest.OpDeprecateVersions, amigotest.OpInvokeVersion}})
					// Chaos may spare the few sign-ins: the first is refused
					// and the second dropped in any case.
					srv.FailNext(amigotest.OpSignIn, 1, http.StatusServiceUnavailable, "")
					srv.DropAfterWork(amigotest.OpSignIn, 1)
				}
				plan := h.plan("", []stageSpec{{name: "us", extra: "test: true\nsmoke: true"}, {name: "eu"}}, "")
				first := h.run(plan, nil)
				injected := 0
				for _, srv := range h.servers {
					for _, n := range srv.Injected() {
						injected += n
					}
					for _, r := range srv.Requests() {
						if r.OperationID == amigotest.OpSignIn && r.Fault != "" {
							signInFaults++
						}
					}
					srv.ClearFaults()
				}
				if injected == 0 {
					t.Fatalf("no fault injected: the test proves nothing")
				}
				t.Logf("%d faults injected; first run: %v", injected, toolNames(first))
				for _, tr := range first.Tools {
					for _, st := range tr.Stages {
						if st.Status != pipeline.StatusReleased {
							t.Logf("first run: %s %s: %s %s", tr.Name, st.Stage, st.Status, st.Error)
						}
					}
				}
				if !first.OK() {
					t.Errorf("first run under faults not OK: %v (every injected fault is retryable or reconcilable)", toolNames(first))
				}
				second := h.run(plan, nil)
				if !second.OK() {
					t.Fatalf("rerun without faults not OK: %v\nfirst: %v\n%s", toolNames(second), toolNames(first), h.log)
				}
				for _, sn := range h.stages {
					for _, name := range []string{"weather", "flights", "hotels"} {
						n := 0
						for _, v := range h.versions(sn, name) {
							if v.ToolCommitHash == head {
								n++
							}
						}
						if n != 1 {
							t.Errorf("%s in %s: %d versions of %s, want exactly 1", name, sn, n, head[:12])
						}
						if got := h.active(sn, name); !slices.Equal(got, []string{"1.0.0"}) {
							t.Errorf("%s in %s: active %v after the rerun, want [1.0.0]", name, sn, got)
						}
					}
				}
			})
		})
	}
}

func TestRun_capPruningWithPinnedVersion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	srv := h.servers["us"]
	h.seed("us", "weather", "1.0.0@"+first, "1.1.0@"+first, "1.2.0@"+first, "1.3.0@"+first)
	h.commit("feat(weather): forecast", testkit.Touch("weather", "v2"))
	plan := h.plan("", []stageSpec{{name: "us", extra: "active_cap: 2\nkeep:\n  weather: [\"1.0.0\"]"}}, "")
	rep := h.run(plan, nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.VersionAfter != "1.4.0" {
		t.Fatalf("us = %s %s (%s), want released 1.4.0\n%s", st.Status, st.VersionAfter, st.Error, h.log)
	}
	// 4 active (> cap 3): the publish is refused, 1.1.0 (oldest unpinned)
	// goes, the retry succeeds; then active_cap 2 keeps 1.4.0, 1.3.0 and
	// the pinned 1.0.0.
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0", "1.3.0", "1.4.0"}) {
		t.Errorf("active = %v, want [1.0.0 1.3.0 1.4.0]", got)
	}
	if !slices.Equal(st.Pruned, []string{"1.1.0", "1.2.0"}) {
		t.Errorf("pruned = %v, want [1.1.0 1.2.0]", st.Pruned)
	}
	if st.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (refused for the cap, then retried once)", st.Attempts)
	}
	if rep.Stats.CapPrunes != 1 || rep.Stats.Pruned != 2 {
		t.Errorf("stats = %+v, want 1 cap prune of 2 pruned", rep.Stats)
	}
	for _, r := range srv.Requests() {
		if r.OperationID == amigotest.OpDeprecateVersions && !strings.Contains(r.Path, "%3D%3D") && !strings.Contains(r.Path, "==") {
			t.Errorf("deprecation %s is not an exact ==X.Y.Z constraint", r.Path)
		}
	}
}

func TestRun_driftBetweenRegions(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	// eu already has an older 1.0.0 (numbered on its own): the same commit
	// becomes 1.0.0 in us and 1.1.0 in eu.
	h.seed("eu", "weather", "1.0.0@"+first)
	head := h.commit("feat(weather): more", testkit.Touch("weather", "v2"))
	rep := h.run(h.chain(""), nil)
	w := tool(t, rep, "weather")
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	if us, eu := stage(t, w, "us"), stage(t, w, "eu"); us.VersionAfter != "1.0.0" || eu.VersionAfter != "1.1.0" || us.Bump != "major" || eu.Bump != "minor" {
		t.Fatalf("us %s (%s) eu %s (%s), want 1.0.0 (major: the tool's first there) and 1.1.0 (minor)", us.VersionAfter, us.Bump, eu.VersionAfter, eu.Bump)
	}
	if !strings.Contains(w.Drift, "us 1.0.0") || !strings.Contains(w.Drift, "eu 1.1.0") || !strings.Contains(w.Drift, head[:12]) {
		t.Errorf("drift = %q, want both stages' numbers and the commit", w.Drift)
	}
}

// TestRun_capScenarioUnderBothRules releases three tools that each have
// three active versions, one after the other, to a server under each
// reading of the active cap, and counts the calls. Literal: each publish is
// accepted (4 active) and the prune step deprecates one. Strict: the first
// publish is refused, teaching the run; the first tool prunes and retries,
// the next two make room first and publish once. Both end in the same
// state: nothing deprecated beyond what the cap requires.
func TestRun_capScenarioUnderBothRules(t *testing.T) {
	tools := []string{"alpha", "beta", "gamma"}
	for _, c := range []struct {
		rule                       amigotest.CapRule
		publishes, refused, deprec int
		listVersions               int
	}{
		// Per tool: the analysis' (which the versions step uses) and
		// verify's (which prune uses) = 2 lists.
		{amigotest.CapLiteral, 3, 0, 3, 6},
		// Plus one list after the refusal, for the first tool only.
		{amigotest.CapStrict, 4, 1, 3, 7},
	} {
		t.Run(string(c.rule), func(t *testing.T) {
			h := newHarness(t, amigotest.Options{CapRule: c.rule}, "us")
			var files []map[string]string
			for _, n := range tools {
				files = append(files, testkit.Project(n, n, ""))
			}
			first := h.commit("feat: tools", testkit.Files(files...))
			srv := h.servers["us"]
			for _, n := range tools {
				h.seed("us", n, "1.0.0@"+first, "1.1.0@"+first, "1.2.0@"+first)
			}
			var fixes []map[string]string
			for _, n := range tools {
				fixes = append(fixes, testkit.Touch(n, "fixed"))
			}
			h.commit("fix: all tools", testkit.Files(fixes...))
			srv.ResetRequests()

			// One tool at a time, so that the order of learning is fixed.
			plan := h.plan("", []stageSpec{{name: "us", extra: "concurrency: 1"}}, "")
			rep := h.run(plan, nil)
			if !rep.OK() {
				t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
			}
			for _, n := range tools {
				if got := h.active("us", n); !slices.Equal(got, []string{"1.1.0", "1.2.0", "1.2.1"}) {
					t.Errorf("%s active %v, want [1.1.0 1.2.0 1.2.1]", n, got)
				}
			}
			got := struct{ publishes, refused, deprec, lists int }{
				h.count("us", amigotest.OpPublishVersion, 0), h.count("us", amigotest.OpPublishVersion, 400),
				h.count("us", amigotest.OpDeprecateVersions, 0), h.count("us", amigotest.OpListVersions, 0),
			}
			want := struct{ publishes, refused, deprec, lists int }{c.publishes, c.refused, c.deprec, c.listVersions}
			if got != want {
				t.Errorf("calls (publishes, refused, deprecations, version lists) = %+v, want %+v\n%s", got, want, h.log)
			}
			if rep.Stats.PublishAttempts != c.publishes {
				t.Errorf("report counts %d publish attempts, the server saw %d", rep.Stats.PublishAttempts, c.publishes)
			}
		})
	}
}

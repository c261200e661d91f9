package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

func TestRun_firstRelease(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	head := h.commit("feat: weather tool", project("weather", ""))
	rep := h.run(h.chain(""), nil)
	if !rep.OK() {
		t.Fatalf("report not OK: %+v\nlog:\n%s", rep, h.log)
	}
	tr := tool(t, rep, "weather")
	st := stage(t, tr, "us")
	if st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" || st.VersionBefore != "" {
		t.Errorf("us: status %s, %q → %q; want released, \"\" → 1.0.0 (%s)", st.Status, st.VersionBefore, st.VersionAfter, st.Error)
	}
	if st.CommitHash != head {
		t.Errorf("us commit = %s, want %s", st.CommitHash, head)
	}
	if len(st.Tests) != 1 || !st.Tests[0].Succeeded {
		t.Errorf("us tests = %+v, want one passing input", st.Tests)
	}
	if len(tr.Commits) != 1 || tr.Commits[0].Type != "feat" {
		t.Errorf("commits = %+v, want the one feat commit", tr.Commits)
	}
	vs := h.versions("us", "weather")
	if len(vs) != 1 || vs[0].Version.String() != "1.0.0" || vs[0].ToolCommitHash != head {
		t.Fatalf("emulator versions = %+v, want 1.0.0 at %s", vs, head)
	}
	tl, _ := h.servers["us"].ToolByName(org, "weather")
	if tl.Description != "The weather tool." {
		t.Errorf("tool description = %q, want the project's", tl.Description)
	}
	for _, want := range []string{"weather us ensure: created", "weather us test: 1 inputs passed", "weather us publish: published 1.0.0 (major)", "weather us verify"} {
		if !strings.Contains(h.log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, h.log)
		}
	}
	// One line per step, each with the elapsed time, the tool and the
	// stage, grouped under the tool's title.
	group := strings.SplitAfter(h.log.String(), "▸ weather: released us=1.0.0\n")
	if len(group) != 2 {
		t.Fatalf("no group titled with the tool's outcome:\n%s", h.log)
	}
	lineRE := regexp.MustCompile(`^  \[\+[0-9hms.]+\] weather us (\w+): .+`)
	var logged []string
	for _, ln := range strings.Split(strings.TrimRight(group[1], "\n"), "\n") {
		if !strings.HasPrefix(ln, "  ") {
			break
		}
		m := lineRE.FindStringSubmatch(ln)
		if m == nil {
			t.Errorf("step line %q lacks elapsed time, tool or stage", ln)
			continue
		}
		logged = append(logged, m[1])
	}
	var steps []string
	for _, sr := range st.Steps {
		steps = append(steps, sr.Name)
	}
	if !slices.Equal(logged, steps) || len(steps) < 5 {
		t.Errorf("logged steps %v, report steps %v: want one line per step (ensure, versions, test, publish, verify)", logged, steps)
	}
}

func TestRun_minorAndMajorBumps(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather tool", project("weather", ""))
	h.commit("feat: flights tool", project("flights", ""))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first run failed: %v\n%s", toolNames(rep), h.log)
	}

	h.commit("feat(weather): add forecast days", touch("weather", "v2"))
	h.commit("fix(flights): handle delays", touch("flights", "v2"))
	rep := h.run(plan, nil)
	if got := stage(t, tool(t, rep, "weather"), "us"); got.VersionBefore != "1.0.0" || got.VersionAfter != "1.1.0" || got.Bump != "minor" {
		t.Errorf("weather after feat: %s → %s (%s), want 1.0.0 → 1.1.0 (minor)", got.VersionBefore, got.VersionAfter, got.Bump)
	}
	if got := stage(t, tool(t, rep, "flights"), "us"); got.VersionAfter != "1.0.1" {
		t.Errorf("flights after fix: %s, want 1.0.1", got.VersionAfter)
	}
	if tr := tool(t, rep, "weather"); tr.Bump != "minor" || len(tr.Commits) != 1 {
		t.Errorf("weather bump %q with %d commits, want minor from the one commit since 1.0.0's", tr.Bump, len(tr.Commits))
	}

	h.commit("feat(weather)!: cities by id only\n\nBREAKING CHANGE: the city parameter is gone", touch("weather", "v3"))
	h.commit("docs: readme", map[string]string{"README.md": "hello\n"})
	rep = h.run(plan, nil)
	if got := stage(t, tool(t, rep, "weather"), "us"); got.VersionAfter != "2.0.0" {
		t.Errorf("weather after breaking change: %s, want 2.0.0", got.VersionAfter)
	}
	for _, tr := range rep.Tools {
		if tr.Name == "flights" {
			t.Errorf("flights did not change but is in the report: %+v", tr)
		}
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0", "1.1.0", "2.0.0"}) {
		t.Errorf("weather active versions = %v", got)
	}
}

func TestRun_promotionAcrossFourStages(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu", "ap", "ca")
	head := h.commit("feat: two tools", merge(project("weather", ""), project("flights", "")))
	plan := h.plan("", []stageSpec{
		{name: "us", extra: "test: true\nsmoke: true\nsoak: 10m"},
		{name: "eu", extra: "smoke: true"},
		{name: "ap", extra: "needs: [eu]"},
		{name: "ca", extra: "needs: [eu]"},
	}, "")
	// ap's and ca's publishes take half an hour (300 real ms), so that
	// their overlap, checked below, does not depend on how fast the machine
	// starts two goroutines.
	for _, sn := range []string{"ap", "ca"} {
		h.servers[sn].SetLatency(amigotest.OpPublishVersion, 30*time.Minute)
	}
	rep := h.run(plan, nil)
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	for _, name := range []string{"weather", "flights"} {
		tr := tool(t, rep, name)
		for _, sn := range h.stages {
			st := stage(t, tr, sn)
			if st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" || st.CommitHash != head {
				t.Errorf("%s %s: %s %s at %s, want released 1.0.0 at %s (%s)", name, sn, st.Status, st.VersionAfter, st.CommitHash, head, st.Error)
			}
			if got := h.active(sn, name); !slices.Equal(got, []string{"1.0.0"}) {
				t.Errorf("%s in %s: active %v, want [1.0.0]", name, sn, got)
			}
		}
		us, eu, ap, ca := stage(t, tr, "us"), stage(t, tr, "eu"), stage(t, tr, "ap"), stage(t, tr, "ca")
		if len(us.Smoke) != 1 || !us.Smoke[0].Succeeded || len(eu.Smoke) != 1 {
			t.Errorf("%s smoke results us=%+v eu=%+v, want one passing input each", name, us.Smoke, eu.Smoke)
		}
		// eu starts after us is done, soak included; ap and ca after eu.
		if usEnd := us.StartedAt.Add(us.Duration); eu.StartedAt.Before(usEnd) || eu.StartedAt.Sub(us.StartedAt) < 10*time.Minute {
			t.Errorf("%s: eu started %v after us started (us took %v incl. a 10m soak): needs not honoured", name, eu.StartedAt.Sub(us.StartedAt), us.Duration)
		}
		euEnd := eu.StartedAt.Add(eu.Duration)
		if ap.StartedAt.Before(euEnd) || ca.StartedAt.Before(euEnd) {
			t.Errorf("%s: ap/ca started before eu was done", name)
		}
	}
	// ap and ca ran concurrently for at least one tool (they only need eu).
	w := tool(t, rep, "weather")
	ap, ca := stage(t, w, "ap"), stage(t, w, "ca")
	if !ap.StartedAt.Before(ca.StartedAt.Add(ca.Duration)) || !ca.StartedAt.Before(ap.StartedAt.Add(ap.Duration)) {
		t.Errorf("ap and ca ran one after the other")
	}
	// One test-tool call per tool, only in us.
	if n := h.count("us", amigotest.OpTestTool, 200); n != 2 {
		t.Errorf("us test-tool calls = %d, want 2", n)
	}
	for _, sn := range []string{"eu", "ap", "ca"} {
		if n := h.count(sn, amigotest.OpTestTool, 0); n != 0 {
			t.Errorf("%s test-tool calls = %d, want 0 (not test-gated)", sn, n)
		}
	}
}

func TestRun_failingTestGate(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", merge(project("weather", ""), project("flights", "")))
	plan := h.chain(`tools:
  weather:
    test_inputs:
      - input_parameters: {city: Paris}
      - input_parameters: {city: Nowhere, raise: "KeyError: city not found"}
`)
	rep := h.run(plan, nil)
	if rep.OK() {
		t.Fatalf("report OK despite a failing test input")
	}
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if w.Status != pipeline.StatusFailed || us.Status != pipeline.StatusFailed {
		t.Fatalf("weather %s / us %s, want failed/failed", w.Status, us.Status)
	}
	if len(us.Tests) != 2 || !us.Tests[0].Succeeded || us.Tests[1].Succeeded {
		t.Fatalf("tests = %+v, want input 1 passing and input 2 failing", us.Tests)
	}
	f := us.Tests[1]
	if f.ExceptionType != "KeyError" || f.Message != "city not found" || len(f.StackTrace) == 0 {
		t.Errorf("failed input: type %q message %q trace %v; want KeyError, city not found, a stack trace", f.ExceptionType, f.Message, f.StackTrace)
	}
	if !strings.Contains(us.Error, "KeyError") {
		t.Errorf("stage error %q does not name the exception", us.Error)
	}
	if eu := stage(t, w, "eu"); eu.Status != pipeline.StatusBlocked {
		t.Errorf("eu = %s, want blocked", eu.Status)
	}
	if n := len(h.versions("us", "weather")); n != 0 {
		t.Errorf("weather has %d versions after a failed gate, want 0", n)
	}
	// The other tool is not held back.
	if fl := tool(t, rep, "flights"); fl.Status != pipeline.StatusReleased {
		t.Errorf("flights = %s, want released (failure isolation)", fl.Status)
	}
}

func TestRun_conflictStormDuringPublish(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", project("weather", ""))
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
	h.commit("feat: weather", project("weather", ""))
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
	head := h.commit("feat: weather", project("weather", ""))
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
	head := h.commit("feat: weather", project("weather", ""))
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
	head := h.commit("feat: weather", project("weather", ""))
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
	head := h.commit("feat: weather", project("weather", ""))
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

func TestRun_capPruningWithPinnedVersion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	first := h.commit("feat: weather", project("weather", ""))
	srv := h.servers["us"]
	id, err := srv.AddTool(org, amigotest.SeedTool{Name: "weather", Description: "The weather tool."})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: v, Commit: first, ProjectDirectory: "tools/weather"}); err != nil {
			t.Fatal(err)
		}
	}
	h.commit("feat(weather): forecast", touch("weather", "v2"))
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

func TestRun_envvarSyncWithSecret(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.env["WEATHER_KEY_PROD"] = "sk-live-TOPSECRET-99"
	h.commit("feat: weather", project("weather", "[tool.amigo]\nrequired_envvars = [\"WEATHER_API_BASE\"]\nrequired_secret_envvars = [\"WEATHER_API_KEY\"]\n"))
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_BASE
        value: https://api.weather.example/v2
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_PROD
        secret: true
`)
	var masked []string
	rep := h.run(plan, func(o *pipeline.Options) { o.OnSecrets = func(v []string) { masked = append(masked, v...) } })
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	tl, _ := h.servers["us"].ToolByName(org, "weather")
	got := h.servers["us"].Envvars(org, tl.ID)
	want := map[string]amigotest.Envvar{
		"WEATHER_API_BASE": {Name: "WEATHER_API_BASE", Value: "https://api.weather.example/v2"},
		"WEATHER_API_KEY":  {Name: "WEATHER_API_KEY", Value: "sk-live-TOPSECRET-99", Secret: true},
	}
	if len(got) != 2 {
		t.Fatalf("envvars on the tool = %+v, want 2", got)
	}
	for _, e := range got {
		if want[e.Name] != e {
			t.Errorf("envvar %s = %+v, want %+v", e.Name, e, want[e.Name])
		}
	}
	if !slices.Contains(masked, "sk-live-TOPSECRET-99") {
		t.Errorf("OnSecrets saw %d values, not the secret envvar's", len(masked))
	}
	if !slices.Contains(pipeline.SecretValues(plan, func(k string) string { return h.env[k] }), "ak-SECRET-4242") {
		t.Errorf("SecretValues lacks the API key")
	}

	// Rotate the secret: the next release updates it in place.
	h.env["WEATHER_KEY_PROD"] = "sk-live-ROTATED-77"
	h.commit("fix(weather): retry", touch("weather", "v2"))
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("second run not OK: %v", toolNames(rep))
	}
	for _, e := range h.servers["us"].Envvars(org, tl.ID) {
		if e.Name == "WEATHER_API_KEY" && e.Value != "sk-live-ROTATED-77" {
			t.Errorf("secret not updated: %q", e.Value)
		}
	}
	js, _ := json.Marshal(rep)
	for _, secret := range []string{"sk-live-TOPSECRET-99", "sk-live-ROTATED-77", "ak-SECRET-4242"} {
		if strings.Contains(h.log.String(), secret) || strings.Contains(string(js), secret) {
			t.Errorf("secret %q leaked into the log or the report", secret)
		}
	}
	if !strings.Contains(h.log.String(), "WEATHER_API_KEY (secret)") {
		t.Errorf("log does not name the synced secret (by name):\n%s", h.log)
	}
}

// A server error that echoes a secret value must not carry it into the log,
// the stage's error, the tool's error or the JSON report.
func TestRun_secretEchoedInAnErrorIsMasked(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	const secret = "sk-live-ECHOED-31337"
	h.env["WEATHER_KEY_PROD"] = secret
	h.commit("feat: weather", project("weather", ""))
	h.servers["us"].FailNext(amigotest.OpModifyEnvvars, 1, http.StatusBadRequest, `{"detail":"envvar WEATHER_API_KEY: value `+secret+` is not accepted"}`)
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_PROD
        secret: true
`)
	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "is not accepted") {
		t.Fatalf("us = %s (%q), want failed with the server's message", us.Status, us.Error)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"log": h.log.String(), "report": string(js), "stage error": us.Error, "tool error": w.Error} {
		if strings.Contains(text, secret) {
			t.Errorf("the secret leaked into the %s", what)
		}
	}
	if !strings.Contains(us.Error, "value *** is not accepted") {
		t.Errorf("stage error %q, want the secret replaced by ***", us.Error)
	}
}

// A smoke invocation that fails fails the stage (the version stays
// published) and blocks the stages after it.
func TestRun_failingSmokeBlocksPromotion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", project("weather", ""))
	plan := h.plan("", []stageSpec{{name: "us", extra: "smoke: true"}, {name: "eu"}}, `tools:
  weather:
    test_inputs:
      - input_parameters: {raise: "RuntimeError: upstream down"}
`)
	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us, eu := stage(t, w, "us"), stage(t, w, "eu")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "RuntimeError") || us.VersionAfter != "1.0.0" {
		t.Fatalf("us = %s %s (%q), want failed after publishing 1.0.0, naming the exception", us.Status, us.VersionAfter, us.Error)
	}
	if len(us.Smoke) != 1 || us.Smoke[0].Succeeded || us.Smoke[0].Message != "upstream down" {
		t.Errorf("smoke results %+v, want the one failed input", us.Smoke)
	}
	if eu.Status != pipeline.StatusBlocked || h.count("eu", amigotest.OpPublishVersion, 0) != 0 {
		t.Errorf("eu = %s, want blocked with nothing published", eu.Status)
	}

	// A plan says the smoke runs again.
	planned, err := pipeline.Plan(t.Context(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if ps := stage(t, tool(t, planned, "weather"), "us"); ps.Status != pipeline.StatusUpToDate || len(ps.Steps) != 1 || ps.Steps[0].Name != "smoke" {
		t.Errorf("plan: us = %s with steps %+v, want up-to-date with the smoke planned again", ps.Status, ps.Steps)
	}

	// A rerun finds 1.0.0 already serving the commit in us, but the smoke
	// has not passed: it runs again, fails again, and still nothing is
	// promoted.
	rep = h.run(plan, nil)
	w = tool(t, rep, "weather")
	us, eu = stage(t, w, "us"), stage(t, w, "eu")
	if rep.OK() || us.Status != pipeline.StatusFailed || len(us.Smoke) != 1 || eu.Status != pipeline.StatusBlocked {
		t.Errorf("rerun: us = %s with %d smoke results, eu = %s; want failed by the smoke again, eu blocked", us.Status, len(us.Smoke), eu.Status)
	}
	if n := h.count("eu", amigotest.OpPublishVersion, 0); n != 0 || len(h.versions("us", "weather")) != 1 {
		t.Errorf("rerun: %d publishes in eu, %d versions in us; want 0 and 1", n, len(h.versions("us", "weather")))
	}
}

// A run stopped during a soak leaves the version live; a rerun finds the
// stage up to date but waits for what is left of the soak (counted from the
// version's creation) before the next stage starts.
func TestRun_rerunFinishesAnInterruptedSoak(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", project("weather", ""))
	plan := h.plan("", []stageSpec{{name: "us", extra: "test: true\nsoak: 1h"}, {name: "eu"}}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := h.runAsync(ctx, plan)
	h.waitFor("nothing was published", func() bool { return len(h.versions("us", "weather")) > 0 })
	cancel()
	if rep := <-done; stage(t, tool(t, rep, "weather"), "eu").Status != pipeline.StatusPending {
		t.Fatalf("eu after the cancel = %s, want pending", stage(t, tool(t, rep, "weather"), "eu").Status)
	}
	created := h.versions("us", "weather")[0].CreatedAt.Time

	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us, eu := stage(t, w, "us"), stage(t, w, "eu")
	if !rep.OK() || us.Status != pipeline.StatusUpToDate || eu.Status != pipeline.StatusReleased {
		t.Fatalf("rerun: us %s, eu %s; want up-to-date, released\n%s", us.Status, eu.Status, h.log)
	}
	if live := eu.StartedAt.Sub(created); live < time.Hour {
		t.Errorf("eu started when us's version had been live %v, want at least the 1h soak", live)
	}
	if !strings.Contains(h.log.String(), "weather us soak: waited") || !strings.Contains(h.log.String(), "the rest of the 1h00m soak") {
		t.Errorf("log lacks the rest of the soak:\n%s", h.log)
	}
}

// The tool is found by name beyond the first page of the tool list (20 a
// page), not created again, and its description and tags are brought up to
// date.
func TestRun_findsToolBeyondFirstPageAndUpdatesIt(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	srv := h.servers["us"]
	for i := 0; i < 45; i++ {
		if _, err := srv.AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("aaa_filler_%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	id, err := srv.AddTool(org, amigotest.SeedTool{Name: "weather", Description: "old words", Tags: map[string]string{"team": "old"}})
	if err != nil {
		t.Fatal(err)
	}
	h.commit("feat: weather", project("weather", ""))
	plan := h.chain(`tools:
  weather:
    tags:
      team: forecasts
      beta:
`)
	rep := h.run(plan, nil)
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	if n := h.count("us", amigotest.OpCreateTool, 0); n != 0 {
		t.Errorf("%d create-tool calls, want 0: the tool exists on page 3", n)
	}
	tl, ok := srv.ToolByName(org, "weather")
	if !ok || tl.ID != id {
		t.Fatalf("weather is %+v, want the seeded %s", tl, id)
	}
	if tl.Description != "The weather tool." {
		t.Errorf("description = %q, want the project's", tl.Description)
	}
	tags := map[string]string{}
	for _, tg := range tl.Tags {
		v := "<null>"
		if tg.Value != nil {
			v = *tg.Value
		}
		tags[tg.Key] = v
	}
	if len(tags) != 2 || tags["team"] != "forecasts" || tags["beta"] != "<null>" {
		t.Errorf("tags = %v, want team=forecasts and beta (no value)", tags)
	}
	if n := h.count("us", amigotest.OpModifyTool, 0); n != 1 {
		t.Errorf("%d modify-tool calls, want 1", n)
	}
	if !strings.Contains(h.log.String(), "updated its description and tags") {
		t.Errorf("the ensure step's log line does not say what it updated:\n%s", h.log)
	}
}

// createdMeanwhile creates the tool on the server just before the
// pipeline's own create-tool call, as a concurrent run would.
type createdMeanwhile struct {
	pipeline.API
	srv *amigotest.Server
}

func (c *createdMeanwhile) CreateTool(ctx context.Context, req amigo.CreateToolRequest) (string, error) {
	if _, err := c.srv.AddTool(org, amigotest.SeedTool{Name: req.Name, Description: "made by someone else"}); err != nil {
		return "", err
	}
	return c.API.CreateTool(ctx, req)
}

// A new tool is created without listing the tools again (the analysis
// listed them: in a large organization that is many pages at 50 a
// minute); one created meanwhile is found after the 409, not duplicated.
func TestRun_newToolCreatedWithoutSecondListing(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	for _, sn := range h.stages {
		for i := 0; i < 45; i++ {
			if _, err := h.servers[sn].AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("aaa_filler_%02d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.commit("feat: weather", project("weather", ""))
	rep := h.run(h.chain(""), func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "eu" {
				api = &createdMeanwhile{API: api, srv: h.servers["eu"]}
			}
			return api, err
		}
	})
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	// 46 tools at 20 a page: 3 pages for the analysis' one listing.
	if n := h.count("us", amigotest.OpListTools, 0); n != 3 {
		t.Errorf("us: %d list-tools calls, want 3 (one listing of 3 pages)", n)
	}
	if n := h.count("us", amigotest.OpCreateTool, 0); n != 1 {
		t.Errorf("us: %d create-tool calls, want 1", n)
	}
	if n := h.count("eu", amigotest.OpCreateTool, http.StatusConflict); n != 1 {
		t.Errorf("eu: %d create-tool 409s, want 1 (the tool made meanwhile)", n)
	}
	n := 0
	for _, tl := range h.servers["eu"].Tools(org) {
		if tl.Name == "weather" && !tl.Deprecated {
			n++
		}
	}
	if eu := stage(t, tool(t, rep, "weather"), "eu"); n != 1 || eu.Status != pipeline.StatusReleased {
		t.Errorf("eu: %d weather tools, stage %s; want the one made meanwhile, released into", n, eu.Status)
	}
}

// TestRun_refusesMissingEnvvars: a runtime contract that the configuration
// does not cover is found for every stage before anything is created.
func TestRun_refusesMissingEnvvars(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", project("weather", "[tool.amigo]\nrequired_secret_envvars = [\"WEATHER_API_KEY\"]\n"))
	rep, err := h.runErr(h.chain(""), nil)
	se, ok := errors.AsType[*pipeline.StartError](err)
	if !ok || len(se.Problems) != 2 {
		t.Fatalf("Run = %v, want a StartError with one problem per stage", err)
	}
	for i, sn := range []string{"us", "eu"} {
		if msg := se.Problems[i].Error(); !strings.Contains(msg, "tool weather") || !strings.Contains(msg, "stage "+sn) || !strings.Contains(msg, "WEATHER_API_KEY") || !strings.Contains(msg, "envvars") {
			t.Errorf("problem %d = %q, want weather, stage %s, WEATHER_API_KEY and where to configure it", i, msg, sn)
		}
	}
	if rep.OK() || tool(t, rep, "weather").Status != pipeline.StatusPending {
		t.Errorf("report: %v, want weather pending (not started)", toolNames(rep))
	}
	for _, sn := range h.stages {
		for _, q := range h.servers[sn].Requests() {
			if q.Mutating() || q.OperationID == amigotest.OpTestTool {
				t.Errorf("%s got %s %s before the run could start", sn, q.Method, q.Path)
			}
		}
	}
}

func TestRun_driftBetweenRegions(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	first := h.commit("feat: weather", project("weather", ""))
	// eu already has an older 1.0.0 (numbered on its own): the same commit
	// becomes 1.0.0 in us and 1.1.0 in eu.
	id, err := h.servers["eu"].AddTool(org, amigotest.SeedTool{Name: "weather", Description: "The weather tool."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.servers["eu"].AddVersion(org, id, amigotest.SeedVersion{Version: "1.0.0", Commit: first, ProjectDirectory: "tools/weather"}); err != nil {
		t.Fatal(err)
	}
	head := h.commit("feat(weather): more", touch("weather", "v2"))
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

func TestPlan_makesNoMutatingCall(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", project("weather", ""))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("release failed: %v", toolNames(rep))
	}
	h.commit("feat(weather): forecast", touch("weather", "v2"))
	h.commit("feat: flights", project("flights", ""))
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	rep, err := pipeline.Plan(t.Context(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "plan" {
		t.Errorf("mode = %q", rep.Mode)
	}
	w := stage(t, tool(t, rep, "weather"), "us")
	if w.Status != pipeline.StatusPlanned || w.VersionBefore != "1.0.0" || w.VersionAfter != "1.1.0" || w.Bump != "minor" {
		t.Errorf("weather us plan = %s %s → %s (%s), want planned 1.0.0 → 1.1.0 (minor)", w.Status, w.VersionBefore, w.VersionAfter, w.Bump)
	}
	if f := stage(t, tool(t, rep, "flights"), "eu"); f.Status != pipeline.StatusPlanned || f.VersionAfter != "1.0.0" {
		t.Errorf("flights eu plan = %s %s, want planned 1.0.0", f.Status, f.VersionAfter)
	}
	reads := 0
	for name, srv := range h.servers {
		for _, r := range srv.Requests() {
			if r.Mutating() || r.OperationID == amigotest.OpTestTool {
				t.Errorf("plan sent %s %s to %s", r.Method, r.Path, name)
			}
			if r.OperationID == amigotest.OpListVersions || r.OperationID == amigotest.OpListTools {
				reads++
			}
		}
	}
	if reads == 0 {
		t.Errorf("plan made no read call: it should look at the servers")
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("plan changed the server: %v", got)
	}

	// Offline: no request at all.
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	rep = h.run(plan, func(o *pipeline.Options) { o.Mode = pipeline.ModeOffline; o.Getenv = func(string) string { return "" } })
	for name, srv := range h.servers {
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("offline plan sent %d requests to %s", n, name)
		}
	}
	if len(rep.Tools) != 2 {
		t.Errorf("offline plan lists %v, want both tools (first release of each without a base)", toolNames(rep))
	}
	// --dry-run: a run's report, nothing changed.
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	rep = h.run(plan, func(o *pipeline.Options) { o.DryRun = true })
	if rep.Mode != "run" || !rep.DryRun {
		t.Errorf("dry run report: mode %q dry_run %v, want run, true", rep.Mode, rep.DryRun)
	}
	for name, srv := range h.servers {
		for _, r := range srv.Requests() {
			if r.Mutating() || r.OperationID == amigotest.OpTestTool {
				t.Errorf("dry run sent %s %s to %s", r.Method, r.Path, name)
			}
		}
	}
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status": "planned"`) {
		t.Errorf("plan JSON lacks planned stages:\n%s", b)
	}
}

func TestRun_failurePolicies(t *testing.T) {
	// weather's test fails in us. halt_tool (default) blocks only weather's
	// later stages; halt stops every tool; continue does not let weather
	// go on, since us does not serve the commit (a stage only ever gets
	// versions that serve in every stage it needs), but does after a failed
	// smoke, where us serves the tested commit.
	tail := `tools:
  weather:
    test_inputs:
      - input_parameters: {raise: "ValueError: bad"}
`
	tests := []struct {
		name        string
		usExtra     string
		failFast    bool
		wantWeather map[string]pipeline.Status
		wantFlights pipeline.Status
	}{
		{"halt_tool", "test: true", false, map[string]pipeline.Status{"us": pipeline.StatusFailed, "eu": pipeline.StatusBlocked}, pipeline.StatusReleased},
		{"continue", "test: true\non_failure: continue", false, map[string]pipeline.Status{"us": pipeline.StatusFailed, "eu": pipeline.StatusBlocked}, pipeline.StatusReleased},
		{"continue after smoke", "smoke: true\non_failure: continue", false, map[string]pipeline.Status{"us": pipeline.StatusFailed, "eu": pipeline.StatusReleased}, pipeline.StatusReleased},
		{"halt", "test: true\non_failure: halt\nconcurrency: 1", false, map[string]pipeline.Status{"us": pipeline.StatusFailed, "eu": pipeline.StatusBlocked}, pipeline.StatusBlocked},
		{"fail-fast", "test: true\nconcurrency: 1", true, map[string]pipeline.Status{"us": pipeline.StatusFailed, "eu": pipeline.StatusBlocked}, pipeline.StatusBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, amigotest.Options{}, "us", "eu")
			// Both tools have two stages, so the test queue takes them by
			// name: weather's (failing) test goes first. zflights' test is
			// held until weather's us stage has failed (and, with halt or
			// fail-fast, halted the run): on a scaled clock the minute
			// between the two tests is a few real milliseconds, which a
			// loaded machine can lose.
			h.commit("feat: tools", merge(project("weather", ""), project("zflights", "")))
			plan := h.plan("", []stageSpec{{name: "us", extra: tt.usExtra}, {name: "eu"}}, tail)
			failed := make(chan struct{})
			rep := h.run(plan, func(o *pipeline.Options) {
				o.FailFast = tt.failFast
				o.Logger = &watchLogger{Logger: o.Logger, want: "weather us: failed", seen: failed}
				def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
				o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
					api, err := def(ctx, st)
					return &holdTest{API: api, path: "tools/zflights", until: failed}, err
				}
			})
			if rep.OK() {
				t.Fatalf("report OK with a failed test gate")
			}
			w := tool(t, rep, "weather")
			for sn, want := range tt.wantWeather {
				if got := stage(t, w, sn).Status; got != want {
					t.Errorf("weather %s = %s, want %s (%s)", sn, got, want, stage(t, w, sn).Error)
				}
			}
			if got := tool(t, rep, "zflights").Status; got != tt.wantFlights {
				t.Errorf("zflights = %s, want %s\n%s", got, tt.wantFlights, h.log)
			}
		})
	}
}

// watchLogger closes seen when an error line containing want is logged.
type watchLogger struct {
	pipeline.Logger
	want string
	once sync.Once
	seen chan struct{}
}

func (l *watchLogger) Errorf(format string, args ...any) {
	if strings.Contains(fmt.Sprintf(format, args...), l.want) {
		l.once.Do(func() { close(l.seen) })
	}
	l.Logger.Errorf(format, args...)
}

// holdTest holds the test-tool call of the project at path until until is
// closed.
type holdTest struct {
	pipeline.API
	path  string
	until chan struct{}
}

func (h *holdTest) TestTool(ctx context.Context, req amigo.TestToolRequest) (*amigo.TestToolResponse, error) {
	if req.ProjectPath == h.path {
		select {
		case <-h.until:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.API.TestTool(ctx, req)
}

// signalAfter closes done when the call after the first publish of the
// project at path returns (verify's list of versions; the soak starts next).
type signalAfter struct {
	pipeline.API
	path      string
	published atomic.Bool
	once      sync.Once
	done      chan struct{}
}

func (a *signalAfter) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	resp, err := a.API.PublishVersion(ctx, id, req)
	if req.ProjectPath == a.path && err == nil {
		a.published.Store(true)
	}
	return resp, err
}

func (a *signalAfter) Versions(ctx context.Context, id string) ([]amigo.ToolVersion, error) {
	vs, err := a.API.Versions(ctx, id)
	if a.published.Load() {
		a.once.Do(func() { close(a.done) })
	}
	return vs, err
}

// A halt elsewhere cuts a soak short: the soaking stage (whose version is
// live) is blocked, not failed, and the stages after it do not start.
func TestRun_haltDuringSoakBlocks(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", merge(project("weather", ""), project("zflights", "")))
	plan := h.plan("", []stageSpec{{name: "us", extra: "test: true\nsoak: 2h\non_failure: halt"}, {name: "eu"}}, `tools:
  zflights:
    test_inputs:
      - input_parameters: {raise: "ValueError: bad"}
`)
	soaking := make(chan struct{})
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "us" {
				// weather is tested first (name order); zflights' failing
				// test waits until weather's soak is about to start.
				api = &holdTest{API: &signalAfter{API: api, path: "tools/weather", done: soaking}, path: "tools/zflights", until: soaking}
			}
			return api, err
		}
	})
	w, z := tool(t, rep, "weather"), tool(t, rep, "zflights")
	if us := stage(t, z, "us"); us.Status != pipeline.StatusFailed {
		t.Fatalf("zflights us = %s, want failed", us.Status)
	}
	us := stage(t, w, "us")
	if us.Status != pipeline.StatusBlocked || us.VersionAfter != "1.0.0" || !strings.Contains(us.Error, "halted") {
		t.Errorf("weather us = %s %s (%q), want blocked by the halt with 1.0.0 live", us.Status, us.VersionAfter, us.Error)
	}
	if !strings.Contains(strings.Join(us.Warnings, "\n"), "1.0.0 is live in us") {
		t.Errorf("weather us warnings %v do not say 1.0.0 is live", us.Warnings)
	}
	if eu := stage(t, w, "eu"); eu.Status != pipeline.StatusBlocked || h.count("eu", amigotest.OpPublishVersion, 0) != 0 {
		t.Errorf("weather eu = %s, want blocked with nothing published", eu.Status)
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("weather active in us = %v, want [1.0.0]", got)
	}
}

func TestRun_skipStagesAndToolFilter(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu", "ap")
	h.commit("feat: tools", merge(project("weather", "[tool.amigo-release]\nskip_stages = [\"eu\"]\n"), project("flights", ""), project("hotels", "")))
	plan := h.chain("")
	rep := h.run(plan, func(o *pipeline.Options) { o.Tools = []string{"weather", "flights", "trains"} })
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	w := tool(t, rep, "weather")
	if got := []pipeline.Status{stage(t, w, "us").Status, stage(t, w, "eu").Status, stage(t, w, "ap").Status}; !slices.Equal(got, []pipeline.Status{pipeline.StatusReleased, pipeline.StatusSkipped, pipeline.StatusReleased}) {
		t.Errorf("weather stages = %v, want released, skipped, released (ap needs the skipped eu)", got)
	}
	if _, ok := h.servers["eu"].ToolByName(org, "weather"); ok {
		t.Errorf("weather was created in the skipped stage eu")
	}
	if got := tool(t, rep, "hotels").Status; got != pipeline.StatusSkipped {
		t.Errorf("hotels = %s, want skipped (not in the tool filter)", got)
	}
	if _, ok := h.servers["us"].ToolByName(org, "hotels"); ok {
		t.Errorf("hotels was released despite the filter")
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), `"trains"`) {
		t.Errorf("warnings %v do not mention the unknown filter entry", rep.Warnings)
	}
}

func TestRun_noReleaseAndRemoved(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	before := h.commit("feat: tools", merge(project("weather", ""), project("flights", "")))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first run: %v", toolNames(rep))
	}
	h.commit("chore(weather): tidy imports", touch("weather", "tidy"))
	h.commit("feat!: drop flights", map[string]string{"tools/flights": ""})
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	// A project gone at head is not discovered, so its base is the push
	// event's before.
	rep := h.run(plan, func(o *pipeline.Options) { o.EventBefore = before })
	if !rep.OK() {
		t.Errorf("a run with nothing to release must be OK: %v", toolNames(rep))
	}
	if got := tool(t, rep, "weather"); got.Status != pipeline.StatusNoRelease || got.Reason == "" {
		t.Errorf("weather = %s (%q), want no-release with a reason", got.Status, got.Reason)
	}
	if got := tool(t, rep, "flights").Status; got != pipeline.StatusRemoved {
		t.Errorf("flights = %s, want removed", got)
	}
	for _, r := range h.servers["us"].Requests() {
		if r.Mutating() || r.OperationID == amigotest.OpTestTool {
			t.Errorf("sent %s %s with nothing to release", r.Method, r.Path)
		}
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
				head := h.commit("feat: tools", merge(project("weather", ""), project("flights", ""), project("hotels", "")))
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

func TestRun_shallowClone(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", project("weather", ""))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first release: %v", toolNames(rep))
	}
	h.commit("chore: unrelated", map[string]string{"README.md": "hi\n"})
	h.commit("fix(weather): units", touch("weather", "v2"))
	clone := filepath.Join(t.TempDir(), "clone")
	h.git("clone", "-q", "--depth", "1", "file://"+h.dir, clone)

	// The released commit is not in the shallow clone: a clear error.
	rep, err := h.runErr(plan, func(o *pipeline.Options) { o.RepoPath = clone })
	if err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") || !strings.Contains(rep.Error, "fetch-depth: 0") {
		t.Fatalf("shallow clone without deepening: err %v, want one saying fetch-depth: 0", err)
	}
	if n := h.count("us", amigotest.OpPublishVersion, 0); n != 1 {
		t.Errorf("%d publishes, want only the first release's", n)
	}

	// With Deepen the history is fetched and the fix released as a patch.
	rep = h.run(plan, func(o *pipeline.Options) { o.RepoPath = clone; o.Deepen = &changes.DeepenOptions{} })
	if st := stage(t, tool(t, rep, "weather"), "us"); !rep.OK() || st.VersionAfter != "1.0.1" {
		t.Fatalf("after deepening: %s %s (%s), want released 1.0.1", st.Status, st.VersionAfter, st.Error)
	}
}

// TestRun_badToolSettingsStopTheStart (issue 13, item 3): an unset
// from_env variable of one tool is found before anything is created for
// any tool: the run does not start, and says which variable, where.
func TestRun_badToolSettingsStopTheStart(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", merge(project("weather", ""), project("flights", ""), project("hotels", "")))
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_NOT_SET
        secret: true
  hotels:
    envvars:
      - name: HOTELS_API_KEY
        from_env: HOTELS_KEY_NOT_SET
        secret: true
`)
	rep, err := h.runErr(plan, nil)
	se, ok := errors.AsType[*pipeline.StartError](err)
	if !ok || len(se.Problems) != 2 {
		t.Fatalf("Run = %v, want a StartError with one problem per unset variable", err)
	}
	for i, want := range []string{"WEATHER_KEY_NOT_SET", "HOTELS_KEY_NOT_SET"} {
		found := false
		for _, p := range se.Problems {
			found = found || strings.Contains(p.Error(), want) && strings.Contains(p.Error(), "release.yaml:")
		}
		if !found {
			t.Errorf("problem %d: no problem names %s and its plan line: %v", i, want, se.Problems)
		}
	}
	if rep.OK() || !strings.Contains(rep.Error, "WEATHER_KEY_NOT_SET") {
		t.Errorf("report error %q, want the problems", rep.Error)
	}
	for _, sn := range h.stages {
		if m := h.servers[sn].Tools(org); len(m) != 0 {
			t.Errorf("%s has tools %v: nothing may be created when the run cannot start", sn, m)
		}
		if n := h.count(sn, amigotest.OpTestTool, 0); n != 0 {
			t.Errorf("%s got %d tests", sn, n)
		}
	}
	h.env["WEATHER_KEY_NOT_SET"], h.env["HOTELS_KEY_NOT_SET"] = "wk-1234", "hk-1234"
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("with the variables set: %v\n%s", toolNames(rep), h.log)
	}
}

// staleVersions answers the first list-versions call with a version that
// serves commit, as if the analysis saw a release that was deprecated
// before the stage ran.
type staleVersions struct {
	pipeline.API
	mu     sync.Mutex
	calls  int
	commit string
}

func (s *staleVersions) Versions(ctx context.Context, id string) ([]amigo.ToolVersion, error) {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		return []amigo.ToolVersion{{ToolID: id, Version: amigo.Version{Major: 1}, ToolCommitHash: s.commit}}, nil
	}
	return s.API.Versions(ctx, id)
}

func TestRun_neverPublishesUntested(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	head := h.commit("feat: weather", project("weather", ""))
	if _, err := h.servers["eu"].AddTool(org, amigotest.SeedTool{Name: "weather", Description: "The weather tool."}); err != nil {
		t.Fatal(err)
	}
	plan := h.plan("", []stageSpec{{name: "us"}, {name: "eu", extra: "test: true"}}, "")
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "eu" {
				api = &staleVersions{API: api, commit: head}
			}
			return api, err
		}
	})
	eu := stage(t, tool(t, rep, "weather"), "eu")
	if !rep.OK() || eu.Status != pipeline.StatusReleased {
		t.Fatalf("eu = %s (%s), want released\n%s", eu.Status, eu.Error, h.log)
	}
	if n := h.count("eu", amigotest.OpTestTool, 200); n != 1 || len(eu.Tests) != 1 {
		t.Errorf("eu sent %d tests (report has %d results), want 1: never publish untested", n, len(eu.Tests))
	}
}

// movingBranch commits to the repository's branch just before the first
// publish reaches the server, as a push landing during a release would.
type movingBranch struct {
	pipeline.API
	once  sync.Once
	moved chan string
	h     *harness
	files map[string]string // what the push changes (default: weather's source)
}

func (m *movingBranch) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	m.once.Do(func() {
		files := m.files
		if files == nil {
			files = touch("weather", "moved")
		}
		m.moved <- m.h.commit("feat(weather): pushed during the release", files)
	})
	return m.API.PublishVersion(ctx, id, req)
}

func TestRun_verifyReportsUntestedPublishedCommit(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	head := h.commit("feat: weather", project("weather", ""))
	plan := h.chain("")
	moved := make(chan string, 1)
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "us" {
				api = &movingBranch{API: api, moved: moved, h: h}
			}
			return api, err
		}
	})
	newTip := <-moved
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed {
		t.Fatalf("us = %s, want failed: the published commit is not the tested one\n%s", us.Status, h.log)
	}
	if us.CommitHash != newTip || !strings.Contains(us.Error, "not the tested commit") || !strings.Contains(us.Error, head[:12]) || !strings.Contains(us.Error, newTip[:12]) {
		t.Errorf("us commit %s error %q, want the published %s and the tested %s named", us.CommitHash, us.Error, newTip[:12], head[:12])
	}
	if eu := stage(t, w, "eu"); eu.Status != pipeline.StatusBlocked {
		t.Errorf("eu = %s, want blocked: an untested commit is not promoted", eu.Status)
	}
	if n := h.count("eu", amigotest.OpPublishVersion, 0); n != 0 {
		t.Errorf("eu got %d publishes", n)
	}
	if !strings.Contains(h.log.String(), "weather us verify: failed") {
		t.Errorf("log lacks the failed verify step:\n%s", h.log)
	}
}

// Every stage is asked about every project once per run (the later ones
// for versions an earlier run left untested: strays.go), and no more: the
// versions step of a changed tool's stage lists again, the analysis never
// twice.
func TestRun_asksEachStageAboutEachToolOnce(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", merge(project("weather", ""), project("flights", ""), project("hotels", "")))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first release: %v", toolNames(rep))
	}
	h.commit("fix(weather): units", touch("weather", "v2"))
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	if rep := h.run(plan, nil); !rep.OK() || len(rep.Tools) != 1 {
		t.Fatalf("second release: %v", toolNames(rep))
	}
	versionCalls := func(stage, name string) int {
		tl, _ := h.servers[stage].ToolByName(org, name)
		n := 0
		for _, r := range h.servers[stage].Requests() {
			if r.OperationID == amigotest.OpListVersions && strings.Contains(r.Path, tl.ID) {
				n++
			}
		}
		return n
	}
	for _, name := range []string{"flights", "hotels"} {
		if n := versionCalls("us", name); n != 1 {
			t.Errorf("us: %d list-versions calls for unchanged %s, want 1 (its base)", n, name)
		}
		if n := versionCalls("eu", name); n != 1 {
			t.Errorf("eu: %d list-versions calls for unchanged %s, want 1 (versions an earlier run left untested)", n, name)
		}
	}
	if n := versionCalls("eu", "weather"); n == 0 {
		t.Errorf("eu was never asked about the changed weather")
	}
}

func TestRun_cancelledRunIsPending(t *testing.T) {
	h := newHarness(t, amigotest.Options{PublishLatency: amigotest.Fixed(time.Hour)}, "us", "eu")
	h.commit("feat: weather", project("weather", ""))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan := h.chain("")
	done := h.runAsync(ctx, plan)
	// Cancel while the (hour-long) publish is in flight.
	h.waitFor("the publish never started", h.publishing("us", "weather"))
	cancel()
	rep := <-done
	if rep.OK() {
		t.Fatalf("a cancelled run is not OK")
	}
	w := tool(t, rep, "weather")
	// us's publish was in flight: its outcome is unknown; eu never started.
	if us, eu := stage(t, w, "us").Status, stage(t, w, "eu").Status; us != pipeline.StatusUnknown || eu != pipeline.StatusPending {
		t.Errorf("stages us=%s eu=%s, want unknown, pending (cancelled, not failed)", us, eu)
	}
	if w.Status != pipeline.StatusUnknown {
		t.Errorf("weather = %s, want unknown", w.Status)
	}
}

func toolID(h *harness, stage, name string) string {
	tl, _ := h.servers[stage].ToolByName(org, name)
	return tl.ID
}

func TestRun_firstReleaseWithoutFeatOrFix(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("chore: add the weather tool", project("weather", ""))
	rep := h.run(h.chain(""), nil)
	if !rep.OK() {
		t.Fatalf("run not OK: %v\n%s", toolNames(rep), h.log)
	}
	got := tool(t, rep, "weather")
	if got.Status != pipeline.StatusReleased || got.Bump != "major" {
		t.Fatalf("weather = %s bump %q (%s), want released as major: a tool never released goes out as 1.0.0", got.Status, got.Bump, got.Reason)
	}
	if v := got.Stages[0].VersionAfter; v != "1.0.0" {
		t.Errorf("version after = %q, want 1.0.0", v)
	}
}

func TestRun_firstReleaseReportsMajor(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: add the weather tool", project("weather", ""))
	rep := h.run(h.chain(""), nil)
	got := tool(t, rep, "weather")
	if got.Status != pipeline.StatusReleased || got.Bump != "major" || got.Stages[0].VersionAfter != "1.0.0" {
		t.Fatalf("weather = %s bump %q version %q (%s); a first release is reported as the major it publishes", got.Status, got.Bump, got.Stages[0].VersionAfter, got.Reason)
	}
}

// TestPlan_missingSecretIsAWarning: a pull request from a fork gets no
// secrets; its preview must still say what would release, with a warning,
// while a dry run (and a run) needs the variable.
func TestPlan_missingSecretIsAWarning(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", project("weather", ""))
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_PROD
        secret: true
`)
	for _, mode := range []pipeline.Mode{pipeline.ModePlan, pipeline.ModeOffline} {
		rep := h.run(plan, func(o *pipeline.Options) { o.Mode = mode })
		got := tool(t, rep, "weather")
		if !rep.OK() || got.Status != pipeline.StatusPlanned {
			t.Fatalf("%s: weather = %s (%s), want planned", mode, got.Status, got.Error)
		}
		if !strings.Contains(strings.Join(got.Warnings, "\n"), "WEATHER_KEY_PROD is not set") {
			t.Errorf("%s: warnings %q do not name the missing variable", mode, got.Warnings)
		}
	}
	_, err := h.runErr(plan, func(o *pipeline.Options) { o.DryRun = true })
	if _, ok := errors.AsType[*pipeline.StartError](err); !ok || !strings.Contains(err.Error(), "WEATHER_KEY_PROD") {
		t.Errorf("dry run: %v, want a StartError naming WEATHER_KEY_PROD (a run needs it)", err)
	}
}

// TestRun_serverRefusesMissingEnvvars: the server, not the pipeline's own
// check, refuses the publish for missing envvars. A push lands on the
// stage's branch while the release runs, after the start checks, and its
// tip (what the server builds) requires WEATHER_API_KEY, which the released
// head does not know. The refusal is reported with the server's words, not
// retried, later stages are blocked, and nothing is published.
func TestRun_serverRefusesMissingEnvvars(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", project("weather", ""))
	// No test gate: the publish meets the refusal (with one, test-tool
	// refuses first, for the same reason).
	plan := h.plan("", []stageSpec{{name: "us"}, {name: "eu"}}, "")
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "us" {
				api = &movingBranch{API: api, moved: make(chan string, 1), h: h,
					files: project("weather", "[tool.amigo]\nrequired_secret_envvars = [\"WEATHER_API_KEY\"]\n")}
			}
			return api, err
		}
	})
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "do not exist on the tool: WEATHER_API_KEY") {
		t.Fatalf("us = %s %q, want failed with the server's refusal naming WEATHER_API_KEY\n%s", us.Status, us.Error, h.log)
	}
	if n := h.count("us", amigotest.OpPublishVersion, 400); n != 1 {
		t.Errorf("%d publishes answered 400, want exactly 1 (a refusal is not retried)", n)
	}
	if stage(t, w, "eu").Status != pipeline.StatusBlocked {
		t.Errorf("eu = %s, want blocked", stage(t, w, "eu").Status)
	}
	for _, st := range []string{"us", "eu"} {
		if vs := h.versions(st, "weather"); len(vs) != 0 {
			t.Errorf("%s has versions %v after a refused publish", st, vs)
		}
	}
}

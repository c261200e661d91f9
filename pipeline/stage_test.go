package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

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
			h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("zflights", "zflights", "")))
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
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("zflights", "zflights", "")))
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

func TestRun_cancelledRunIsPending(t *testing.T) {
	h := newHarness(t, amigotest.Options{PublishLatency: amigotest.Fixed(time.Hour)}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
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

// A smoke invocation that fails fails the stage (the version stays
// published) and blocks the stages after it.
func TestRun_failingSmokeBlocksPromotion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
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
	planned, err := pipeline.Preview(t.Context(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }})
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
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
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

// A stage after the first publishes without listing its versions first:
// for a tool this run releases, the analysis lists only the first stage
// (the later ones are listed after their publish, by verify, which is
// also their stray check, strays.go). What a list read right before would
// have told is taken care of, each case here:

// The tool exists in the stage but has no version at all (a run that
// created it failed before publishing there). The stage publishes without
// listing first (the blind publish, versions.go): the server refuses the
// commits' bump for a first version, the publish step lists the versions
// then and publishes as major.
func TestRun_laterStageWithoutVersionsPublishesMajor(t *testing.T) {
	h, first, _ := weatherFixed(t)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		testworld.Seed(t, s.servers["us"], org, "weather", "tools/weather", "1.0.0@"+first)
		testworld.Seed(t, s.servers["eu"], org, "weather", "tools/weather") // the tool, no version
		rep := s.run(s.plan(""), nil)
		eu := stage(t, tool(t, rep, "weather"), "eu")
		if !rep.OK() || eu.VersionAfter != "1.0.0" || eu.Bump != "major" {
			t.Fatalf("eu: %s %s (%s), want released 1.0.0 (major)\n%s", eu.Status, eu.VersionAfter, eu.Bump, h.log)
		}
		if got := s.requests(amigotest.OpPublishVersion); got != 3 {
			t.Errorf("%d publishes, want 3 (us, eu refused, eu as major)", got)
		}
	})
}

// A version of the commit is already in eu (put there by hand) while us,
// the stage eu needs, never served that commit: no test is known to have
// passed on it, so it is a stray: verify's list after eu's publish finds it
// and withdraws it (strays.go), and eu serves the version this run
// publishes after the test.
// (Before the stray check, that hand-made version was adopted.)
func TestRun_laterStageVersionOfAnUntestedCommitIsWithdrawn(t *testing.T) {
	h, first, head := weatherFixed(t)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, "weather")
		euID := testworld.Seed(t, s.servers["eu"], org, "weather", "tools/weather", "1.1.0@"+head)
		rep := s.run(s.plan(""), nil)
		st := stage(t, tool(t, rep, "weather"), "eu")
		if !rep.OK() || st.Status != pipeline.StatusReleased || st.VersionAfter != "1.1.1" || !slices.Equal(st.Withdrawn, []string{"1.1.0"}) || rep.Stats.Withdrawn != 1 {
			t.Fatalf("eu: %s %s, withdrawn %v; want 1.1.1 released after the test, the untested 1.1.0 withdrawn\n%s", st.Status, st.VersionAfter, st.Withdrawn, h.log)
		}
		if len(stage(t, tool(t, rep, "weather"), "us").Tests) == 0 {
			t.Errorf("us ran no test")
		}
		if got := s.servers["eu"].ActiveVersions(org, euID); !slices.Equal(got, []string{"1.0.0", "1.1.1"}) {
			t.Errorf("eu active %v, want [1.0.0 1.1.1]", got)
		}
	})
}

// movingPublish commits to the branch right before its stage's first
// publish reaches the server (a push landing mid-release).
type movingPublish struct {
	pipeline.API
	h    *harness
	done bool
}

func (m *movingPublish) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	if !m.done {
		m.done = true
		m.h.commit("feat(weather): pushed during the release", testkit.Touch("weather", "moved"))
	}
	return m.API.PublishVersion(ctx, id, req)
}

// A publish whose answer is lost while the branch moved built the new tip
// (the API builds the tip), which was never tested: its version, of a
// commit that did not exist when the run checked the tips, is found as the
// attempt's and withdrawn at once, as where the versions were listed
// first (beyond the first stage nothing untested serves); nothing is
// published again. Before, the stage stopped with an unknown outcome and
// the untested version kept serving (the fault campaign found it).
func TestRun_laterStageWithdrawsTheMovedTipAfterALostAnswer(t *testing.T) {
	h, first, _ := weatherFixed(t)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, "weather")
		s.servers["eu"].DropAfterWork(amigotest.OpPublishVersion, 1)
		getenv := func(k string) string { return h.env[k] }
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, Clock: clock.Real{}, HTTPClient: &http.Client{Transport: s}})
		mover := &movingPublish{h: h}
		rep := s.run(s.plan(""), func(o *pipeline.Options) {
			o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
				api, err := def(ctx, st)
				if st.Name == "eu" {
					mover.API = api
					api = mover
				}
				return api, err
			}
		})
		eu := stage(t, tool(t, rep, "weather"), "eu")
		if eu.Status != pipeline.StatusFailed || !strings.Contains(eu.Error, "untested commit") || len(eu.Withdrawn) != 1 {
			t.Fatalf("eu: %s (%s), withdrawn %v; want failed as an untested commit, its version withdrawn\n%s", eu.Status, eu.Error, eu.Withdrawn, h.log)
		}
		tl, _ := s.servers["eu"].ToolByName(org, "weather")
		if got := s.servers["eu"].ActiveVersions(org, tl.ID); !slices.Equal(got, []string{"1.0.0"}) {
			t.Errorf("eu active %v, want [1.0.0]: nothing untested serves beyond the first stage", got)
		}
		if got := s.servers["eu"].Requests(); countOp(got, amigotest.OpPublishVersion) != 1 {
			t.Errorf("eu got %d publishes, want 1: nothing is published again", countOp(got, amigotest.OpPublishVersion))
		}
	})
}

func countOp(reqs []amigotest.LoggedRequest, op string) int {
	n := 0
	for _, r := range reqs {
		if r.OperationID == op {
			n++
		}
	}
	return n
}

// Promotion: a test-gated first stage, then every later stage in order.
func TestRun_promotionAcrossFourStages(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu", "ap", "ca")
	head := h.commit("feat: two tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
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

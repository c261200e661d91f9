package pipeline_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// The release-safety invariants of issue 13 (DESIGN §7): a version serves in
// a stage only if the test gate passed on its exact commit, and a stage only
// gets versions that serve in every stage it needs.

// noMutations fails the test if any emulator answered a mutating call or a
// test-tool call.
func (h *harness) noMutations(when string) {
	h.t.Helper()
	for _, sn := range h.stages {
		for _, q := range h.servers[sn].Requests() {
			if (q.Mutating() || q.OperationID == amigotest.OpTestTool) && q.Status < 300 {
				h.t.Errorf("%s: %s got %s %s", when, sn, q.Method, q.Path)
			}
		}
	}
}

// startProblems returns the problems of a run that did not start, failing
// the test when it started.
func startProblems(t *testing.T, err error) []pipeline.Problem {
	t.Helper()
	se, ok := errors.AsType[*pipeline.StartError](err)
	if !ok {
		t.Fatalf("Run = %v, want a *pipeline.StartError (the run must not start)", err)
	}
	return se.Problems
}

// Item 1: a checkout whose HEAD is not the team branch's tip (a detached
// HEAD on another branch) would publish the tip, another commit: the run
// does not start, and says why and what to do.
func TestRun_headOffTheBranchTipDoesNotStart(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	tip := h.commit("fix(weather): on main", testkit.Touch("weather", "main"))
	h.git("checkout", "-q", "-b", "feature", "HEAD~1")
	head := h.commit("fix(weather): on a feature branch", testkit.Touch("weather", "feature"))
	h.git("checkout", "-q", "--detach")
	plan := h.chain("")
	rep, err := h.runErr(plan, nil)
	problems := startProblems(t, err)
	if len(problems) != 1 {
		t.Fatalf("problems %v, want one: main's tip", problems)
	}
	msg := problems[0].Error()
	for _, want := range []string{"branch main (stages us, eu)", head[:12], "not the tip of main", "refs/heads/main is at " + tip[:12], "fix: release from the tip"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problem %q does not say %q", msg, want)
		}
	}
	if rep.OK() || rep.Head != head {
		t.Errorf("report head %s OK %v, want %s and not OK", rep.Head, rep.OK(), head)
	}
	h.noMutations("off the tip")

	// A dry run says the same; a plan (a pull request's preview is never
	// the tip) does not check.
	if _, err := h.runErr(plan, func(o *pipeline.Options) { o.DryRun = true }); err == nil {
		t.Errorf("dry run off the tip: no error")
	}
	if _, err := h.runErr(plan, func(o *pipeline.Options) { o.Mode = pipeline.ModePlan }); err != nil {
		t.Errorf("plan off the tip: %v", err)
	}

	// From the tip it releases.
	h.git("checkout", "-q", "main")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("from the tip: %v\n%s", toolNames(rep), h.log)
	}
}

// The remote is read when it can be: a checkout whose own refs agree with
// its HEAD but whose origin has moved on does not start.
func TestRun_remoteBranchTipIsChecked(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	clone := filepath.Join(t.TempDir(), "checkout")
	h.git("clone", "-q", "file://"+h.dir, clone)
	moved := h.commit("fix(weather): pushed after the checkout", testkit.Touch("weather", "later"))
	remote := func(o *pipeline.Options) { o.RepoPath = clone; o.Remote = &changes.DeepenOptions{} }
	_, err := h.runErr(h.chain(""), remote)
	problems := startProblems(t, err)
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "origin's main (read from file://") || !strings.Contains(problems[0].Error(), moved[:12]) {
		t.Fatalf("problems %v, want origin's main at %s", problems, moved[:12])
	}
	h.noMutations("behind origin")
	// Without the remote the local refs agree: the check can only be as
	// good as what it can read (the verify step still catches the rest).
	h.git("-C", clone, "pull", "-q", "--ff-only")
	if rep := h.run(h.chain(""), remote); !rep.OK() {
		t.Fatalf("after pulling: %v\n%s", toolNames(rep), h.log)
	}
}

// Item 2: the branch moves between the test and the publish. The version
// the server builds is never promoted; in the first stage it stays (by
// default) and the run from its commit tests that commit before adopting
// and promoting it, without publishing it again.
func TestRun_untestedVersionIsNeverPromoted(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	tested := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	moved := make(chan string, 1)
	rep := h.run(plan, func(o *pipeline.Options) { o.Clients = movingIn(o, h, "us", moved) })
	x := <-moved
	w := tool(t, rep, "weather")
	us, eu := stage(t, w, "us"), stage(t, w, "eu")
	if us.Status != pipeline.StatusFailed || eu.Status != pipeline.StatusBlocked {
		t.Fatalf("us %s eu %s, want failed, blocked\n%s", us.Status, eu.Status, h.log)
	}
	for _, want := range []string{"1.0.0 was built from commit " + x[:12] + ", not the tested commit " + tested[:12], "stays in us, the first stage, and is never promoted", "a run from " + x[:12] + " tests that commit"} {
		if !strings.Contains(us.Error, want) {
			t.Errorf("us error %q lacks %q", us.Error, want)
		}
	}
	if got := h.active("us", "weather"); len(got) != 1 || got[0] != "1.0.0" {
		t.Errorf("us active %v, want the untested 1.0.0 kept (deprecate_untested: false)", got)
	}
	if vs := h.versions("eu", "weather"); len(vs) != 0 {
		t.Errorf("eu has %v: an untested version was promoted", vs)
	}

	// The rerun from the new tip tests it, then adopts 1.0.0 and promotes it.
	testsBefore := h.count("us", amigotest.OpTestTool, 200)
	rep = h.run(plan, nil)
	w = tool(t, rep, "weather")
	if !rep.OK() || stage(t, w, "us").Status != pipeline.StatusUpToDate || stage(t, w, "eu").Status != pipeline.StatusReleased {
		t.Fatalf("rerun: %v\n%s", toolNames(rep), h.log)
	}
	if n := h.count("us", amigotest.OpTestTool, 200) - testsBefore; n != 1 {
		t.Errorf("the rerun sent %d tests to us, want 1 before adopting 1.0.0", n)
	}
	if n := h.count("us", amigotest.OpPublishVersion, 0); n != 1 || len(h.versions("us", "weather")) != 1 {
		t.Errorf("%d publishes in us (versions %v), want 1: the commit is not published twice", n, h.versions("us", "weather"))
	}
	if vs := h.versions("eu", "weather"); len(vs) != 1 || vs[0].ToolCommitHash != x {
		t.Errorf("eu has %v, want 1.0.0 at %s", vs, x[:12])
	}
}

// With publish.deprecate_untested: true the first stage deprecates such a
// version at once too; beyond the first stage it is always deprecated.
func TestRun_untestedVersionIsWithdrawn(t *testing.T) {
	for _, tt := range []struct {
		name, movesIn string
		deprecate     bool
	}{
		{"first stage with deprecate_untested", "us", true},
		{"beyond the first stage", "eu", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, amigotest.Options{}, "us", "eu", "ap")
			h.commit("feat: weather", testkit.Project("weather", "weather", ""))
			text := h.planText("", []stageSpec{{name: "us", extra: "test: true"}, {name: "eu"}, {name: "ap"}}, "")
			if tt.deprecate {
				text = strings.Replace(text, "publish:\n", "publish:\n  deprecate_untested: true\n", 1)
			}
			moved := make(chan string, 1)
			rep := h.run(h.parse(text), func(o *pipeline.Options) { o.Clients = movingIn(o, h, tt.movesIn, moved) })
			x := <-moved
			st := stage(t, tool(t, rep, "weather"), tt.movesIn)
			if st.Status != pipeline.StatusFailed || len(st.Withdrawn) != 1 || st.Withdrawn[0] != st.VersionAfter || rep.Stats.Withdrawn != 1 {
				t.Fatalf("%s: %s withdrawn %v (stats %d), want failed with %s withdrawn\n%s", tt.movesIn, st.Status, st.Withdrawn, rep.Stats.Withdrawn, st.VersionAfter, h.log)
			}
			if !strings.Contains(st.Error, "was deprecated at once") {
				t.Errorf("error %q does not say the version was deprecated", st.Error)
			}
			for _, v := range h.versions(tt.movesIn, "weather") {
				if v.ToolCommitHash == x && !v.Deprecated {
					t.Errorf("%s still serves %s of the untested %s", tt.movesIn, v.Version, x[:12])
				}
			}
			if vs := h.versions("ap", "weather"); len(vs) != 0 {
				t.Errorf("ap has %v", vs)
			}
			// The next run tests x and releases it everywhere.
			if rep := h.run(h.parse(text), nil); !rep.OK() {
				t.Fatalf("rerun: %v\n%s", toolNames(rep), h.log)
			}
			for _, sn := range h.stages {
				live := false
				for _, v := range h.versions(sn, "weather") {
					live = live || v.ToolCommitHash == x && !v.Deprecated
				}
				if !live {
					t.Errorf("after the rerun %s does not serve %s: %v", sn, x[:12], h.versions(sn, "weather"))
				}
			}
		})
	}
}

// movingIn is a client factory whose stage pushes a commit to the branch
// right before its first publish reaches the server.
func movingIn(o *pipeline.Options, h *harness, stageName string, moved chan string) pipeline.ClientFactory {
	def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
	return func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
		api, err := def(ctx, st)
		if st.Name == stageName {
			api = &movingBranch{API: api, moved: moved, h: h}
		}
		return api, err
	}
}

// rateLimitedTest answers the first test-tool call, after its budget has
// gone (pacing took it), with the 429 the client returns when it gives up:
// the server's Retry-After is beyond the client's own budget.
type rateLimitedTest struct {
	pipeline.API
	clk interface {
		Sleep(context.Context, time.Duration) error
	}
	wait  time.Duration
	times int
	mu    sync.Mutex
	calls int
}

func (a *rateLimitedTest) TestTool(ctx context.Context, req amigo.TestToolRequest) (*amigo.TestToolResponse, error) {
	a.mu.Lock()
	a.calls++
	n := a.calls
	a.mu.Unlock()
	if n <= a.times {
		if err := a.clk.Sleep(ctx, a.wait); err != nil {
			return nil, err
		}
		return nil, &amigo.APIError{Op: amigo.OpTestTool, Method: "POST", Path: "/v1/acme/tool/test", StatusCode: 429,
			Message: "The user has exceeded the rate limit for this endpoint.", RetryAfter: 40 * time.Second}
	}
	return a.API.TestTool(ctx, req)
}

// Item 4: a 429 that arrives when the retry budget is spent is waited out
// once more (its Retry-After) before the test fails.
func TestRun_429AtTheEndOfTheBudgetIsWaitedOnce(t *testing.T) {
	for _, tt := range []struct {
		name   string
		times  int
		wantOK bool
	}{
		{"one 429 at the end", 1, true},
		{"a second one fails", 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, amigotest.Options{}, "us")
			h.commit("feat: weather", testkit.Project("weather", "weather", ""))
			text := strings.Replace(h.planText("", []stageSpec{{name: "us", extra: "test: true"}}, ""), "retry_budget: 6h", "retry_budget: 1m", 1)
			rep := h.run(h.parse(text), func(o *pipeline.Options) {
				def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
				o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
					api, err := def(ctx, st)
					return &rateLimitedTest{API: api, clk: h.clk, wait: 2 * time.Minute, times: tt.times}, err
				}
			})
			us := stage(t, tool(t, rep, "weather"), "us")
			if rep.OK() != tt.wantOK {
				t.Fatalf("OK = %v (us %s: %s), want %v\n%s", rep.OK(), us.Status, us.Error, tt.wantOK, h.log)
			}
			if rep.Stats.LastChanceWaits != 1 {
				t.Errorf("last-chance waits = %d, want 1", rep.Stats.LastChanceWaits)
			}
			if !tt.wantOK && !strings.Contains(us.Error, "429") {
				t.Errorf("us error %q, want the 429", us.Error)
			}
		})
	}
}

// Item 5: an interrupt stops new work and lets the publish in flight
// finish; the report says what is done and pending, and the rerun finishes
// without publishing anything twice.
func TestRun_interruptLetsThePublishInFlightFinish(t *testing.T) {
	h := newHarness(t, amigotest.Options{PublishLatency: amigotest.Fixed(20 * time.Minute)}, "us", "eu")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	stop := make(chan struct{})
	done := make(chan *pipeline.Report, 1)
	go func() {
		rep, _ := pipeline.Run(context.Background(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Stop: stop,
			Getenv: func(k string) string { return h.env[k] }})
		done <- rep
	}()
	h.waitFor("the publish never started", h.publishing("us", "weather"))
	close(stop)
	rep := <-done
	w := tool(t, rep, "weather")
	us, eu := stage(t, w, "us"), stage(t, w, "eu")
	if !rep.Interrupted || rep.OK() {
		t.Fatalf("interrupted %v OK %v, want an interrupted, unfinished report", rep.Interrupted, rep.OK())
	}
	// The publish in flight finished and was verified (us has no gate
	// after verify): us is released; eu never started.
	if us.Status != pipeline.StatusReleased || us.VersionAfter != "1.0.0" || eu.Status != pipeline.StatusPending {
		t.Fatalf("us %s %q, eu %s: want us released with 1.0.0 (the call in flight finished and was verified), eu pending", us.Status, us.VersionAfter, eu.Status)
	}
	if steps := stepNames(us); !slices.Contains(steps, "verify") {
		t.Errorf("us steps %v: the publish that finished after the interrupt was not verified", steps)
	}
	if vs := h.versions("us", "weather"); len(vs) != 1 || vs[0].ToolCommitHash != head {
		t.Errorf("us versions %v", vs)
	}
	if n := h.count("eu", amigotest.OpPublishVersion, 0); n != 0 {
		t.Errorf("eu got %d publishes after the interrupt", n)
	}
	rep = h.run(plan, nil)
	if !rep.OK() || h.count("us", amigotest.OpPublishVersion, 0) != 1 {
		t.Fatalf("rerun: %v, %d publishes in us\n%s", toolNames(rep), h.count("us", amigotest.OpPublishVersion, 0), h.log)
	}
}

// When the grace period ends before the publish in flight answers (the
// caller cancels ctx), its outcome is unknown, and the report says so.
func TestRun_interruptThenCancelLeavesTheOutcomeUnknown(t *testing.T) {
	h := newHarness(t, amigotest.Options{PublishLatency: amigotest.Fixed(10 * time.Hour)}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	stop := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *pipeline.Report, 1)
	go func() {
		rep, _ := pipeline.Run(ctx, pipeline.Options{Plan: h.chain(""), RepoPath: h.dir, Clock: h.clk, Stop: stop,
			Getenv: func(k string) string { return h.env[k] }})
		done <- rep
	}()
	h.waitFor("the publish never started", h.publishing("us", "weather"))
	close(stop)
	time.Sleep(20 * time.Millisecond) // part of the grace period
	cancel()
	rep := <-done
	w := tool(t, rep, "weather")
	if us, eu := stage(t, w, "us"), stage(t, w, "eu"); us.Status != pipeline.StatusUnknown || eu.Status != pipeline.StatusPending || w.Status != pipeline.StatusUnknown {
		t.Fatalf("us %s, eu %s, tool %s: want unknown, pending, unknown", us.Status, eu.Status, w.Status)
	}
	if !strings.Contains(strings.Join(stage(t, w, "us").Warnings, "\n"), "outcome of the publish in us is unknown") {
		t.Errorf("us warnings %q", stage(t, w, "us").Warnings)
	}
}

// Item 7: a first release that fails before publishing reports the bump it
// would have published: major, not the commits' minor.
func TestRun_firstReleaseFailingBeforePublishReportsMajor(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	rep := h.run(h.chain("tools:\n  weather:\n    test_inputs:\n      - input_parameters: {raise: \"ValueError: no\"}\n"), nil)
	w := tool(t, rep, "weather")
	if w.Status != pipeline.StatusFailed || len(h.versions("us", "weather")) != 0 {
		t.Fatalf("weather %s, want failed before publishing", w.Status)
	}
	if w.Bump != "major" || stage(t, w, "us").Bump != "major" || stage(t, w, "eu").Bump != "major" {
		t.Errorf("bump %q (us %q, eu %q), want major everywhere: a first release publishes major", w.Bump, stage(t, w, "us").Bump, stage(t, w, "eu").Bump)
	}
}

// logWatch is a Logger's writer that keeps every line and closes a channel
// the first time a line contains a watched text: a synchronisation point on
// what the run says it did (an interrupt, a halt).
type logWatch struct {
	mu    sync.Mutex
	buf   strings.Builder
	watch map[string]chan struct{}
}

func newLogWatch(texts ...string) *logWatch {
	w := &logWatch{watch: map[string]chan struct{}{}}
	for _, s := range texts {
		w.watch[s] = make(chan struct{})
	}
	return w
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for s, c := range w.watch {
		if c != nil && strings.Contains(w.buf.String(), s) {
			close(c)
			w.watch[s] = nil
		}
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// seen returns the channel closed once text has been logged.
func (w *logWatch) seen(text string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.watch[text]; c != nil {
		return c
	}
	c := make(chan struct{})
	close(c)
	return c
}

// publishHook calls before with each publish request before it goes to the
// server; an error from before is the publish's answer.
type publishHook struct {
	pipeline.API
	before func(amigo.PublishRequest) error
}

func (p *publishHook) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	if err := p.before(req); err != nil {
		return nil, err
	}
	return p.API.PublishVersion(ctx, id, req)
}

// A publish that was in flight when the run was stopped (an interrupt, or a
// halt for another tool's failure) is still verified once its answer
// comes: the run lets it finish, so it must also check what it built. Here
// the branch moves right before weather's publish in eu, beyond the first
// stage, and the stop comes while that publish builds: the version pins an
// untested commit and is deprecated at once. (Before, the stop skipped the
// verify step: eu kept serving the untested version, reported only as
// "pending", and a rerun from the moved tip, where weather had not changed
// since us's version, never looked at it.)
func TestRun_stopStillVerifiesThePublishInFlight(t *testing.T) {
	for _, how := range []string{"interrupt", "halt"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, amigotest.Options{}, "us", "eu")
			h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
			plan := h.chain("")
			stopped := "interrupted: nothing new starts"
			if how == "halt" {
				stopped = "halting the run: flights failed in eu (--fail-fast)"
			}
			logs := newLogWatch(stopped)
			stop := make(chan struct{})
			weatherUnderWay := make(chan struct{})
			var moved string
			rep, err := h.runErr(plan, func(o *pipeline.Options) {
				o.Logger = pipeline.NewTextLogger(logs)
				o.FailFast = how == "halt"
				if how == "interrupt" {
					o.Stop = stop
				}
				def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
				o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
					api, err := def(ctx, st)
					if err != nil || st.Name != "eu" {
						return api, err
					}
					return &publishHook{API: api, before: func(req amigo.PublishRequest) error {
						switch {
						case req.ProjectPath == "tools/flights" && how == "halt":
							// Fails (halting the run) once weather's
							// publish is under way.
							select {
							case <-weatherUnderWay:
							case <-time.After(30 * time.Second):
								t.Errorf("weather's eu publish never started")
							}
							return &amigo.APIError{Op: amigo.OpPublishVersion, Method: "POST", Path: "/v1/acme/tool/x/version", StatusCode: 400, Message: "Tool build has failed: injected"}
						case req.ProjectPath == "tools/weather":
							// The push lands, then the stop comes; the
							// publish goes out (it was already under way).
							moved = h.commit("chore: pushed while weather's eu publish was under way", map[string]string{"README.md": "moved\n"})
							close(weatherUnderWay)
							if how == "interrupt" {
								close(stop)
							}
							select {
							case <-logs.seen(stopped):
							case <-time.After(30 * time.Second):
								t.Errorf("the run never said %q", stopped)
							}
						}
						return nil
					}}, nil
				}
			})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, logs)
			}
			eu := stage(t, tool(t, rep, "weather"), "eu")
			if moved == "" {
				t.Fatalf("weather's eu publish never went out (eu %s): the test proves nothing\n%s", eu.Status, logs)
			}
			for _, v := range h.versions("eu", "weather") {
				if v.ToolCommitHash == moved && !v.Deprecated {
					t.Errorf("eu serves %s of %s, a commit never tested (report: eu %s %q)\n%s", v.Version, moved[:12], eu.Status, eu.Error, logs)
				}
			}
			if eu.Status != pipeline.StatusFailed || len(eu.Withdrawn) != 1 || eu.Withdrawn[0] != eu.VersionAfter || !strings.Contains(eu.Error, "was deprecated at once") {
				t.Errorf("eu %s %q withdrawn %v: want failed, the untested version withdrawn", eu.Status, eu.Error, eu.Withdrawn)
			}
			if how == "interrupt" && !rep.Interrupted {
				t.Errorf("the report does not say the run was interrupted")
			}
		})
	}
}

// stepNames lists the steps a stage recorded.
func stepNames(s pipeline.StageReport) []string {
	var out []string
	for _, st := range s.Steps {
		out = append(out, st.Name)
	}
	return out
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
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
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
			files = testkit.Touch("weather", "moved")
		}
		m.moved <- m.h.commit("feat(weather): pushed during the release", files)
	})
	return m.API.PublishVersion(ctx, id, req)
}

func TestRun_verifyReportsUntestedPublishedCommit(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
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

func TestRun_failingTestGate(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
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

package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/promote"
)

func tv(v, commit string) amigo.ToolVersion {
	ver, err := amigo.ParseVersion(v)
	if err != nil {
		panic(err)
	}
	return amigo.ToolVersion{Version: ver, ToolCommitHash: commit}
}

func TestPruneSelection(t *testing.T) {
	pin := func(vs ...string) func(amigo.Version) bool {
		return func(v amigo.Version) bool { return slices.Contains(vs, v.String()) }
	}
	tests := []struct {
		name     string
		active   []string
		cap      int
		newV     string
		pinned   func(amigo.Version) bool
		want     []string
		wantNone bool
	}{
		{"under the cap", []string{"1.0.0", "1.1.0"}, 3, "1.1.0", nil, nil, true},
		{"oldest go first, by semver not by string", []string{"1.10.0", "1.9.0", "1.2.0", "1.11.0"}, 2, "1.11.0", nil, []string{"1.2.0", "1.9.0"}, false},
		{"pinned stays", []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}, 2, "1.3.0", pin("1.0.0"), []string{"1.1.0"}, false},
		{"new version stays even when older by semver", []string{"2.0.0", "2.1.0", "1.5.0"}, 2, "1.5.0", nil, nil, true},
		{"deprecated ones ignored", []string{"1.0.0", "1.1.0"}, 1, "1.1.0", nil, []string{"1.0.0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var active []amigo.ToolVersion
			for _, v := range tt.active {
				active = append(active, tv(v, ""))
			}
			active = append(active, amigo.ToolVersion{Version: amigo.Version{Major: 0, Minor: 1}, Deprecated: true})
			got := pruneSelection(active, tt.cap, tt.newV, tt.pinned)
			if tt.wantNone && len(got) != 0 || !tt.wantNone && !slices.Equal(got, tt.want) {
				t.Errorf("pruneSelection(%v, cap %d) = %v, want %v", tt.active, tt.cap, got, tt.want)
			}
		})
	}
}

func TestPruneOneForCap(t *testing.T) {
	active := []amigo.ToolVersion{tv("1.0.0", "a"), tv("1.1.0", "b"), tv("1.2.0", "c")}
	pinned := func(v amigo.Version) bool { return v.String() == "1.0.0" }
	if got, ok := pruneOneForCap(active, "zzz", pinned); !ok || got != "1.1.0" {
		t.Errorf("got %q %v, want 1.1.0 (oldest unpinned)", got, ok)
	}
	if _, ok := pruneOneForCap(active[:1], "zzz", pinned); ok {
		t.Errorf("a pinned-only tool must not be pruned")
	}
}

func TestChooseBase(t *testing.T) {
	order := []promote.Stage{{Name: "us"}, {Name: "eu"}, {Name: "ap"}}
	head := strings.Repeat("h", 40)
	old := strings.Repeat("a", 40)
	older := strings.Repeat("b", 40)
	gone := strings.Repeat("c", 40)
	has := func(s string) bool { return s == head || s == old || s == older }
	tool := &amigo.Tool{ID: "t1", Name: "weather"}
	at := func(vs ...amigo.ToolVersion) remoteState { return remoteState{known: true, tool: tool, versions: vs} }
	none := remoteState{known: true}
	tests := []struct {
		name    string
		us, eu  remoteState
		ap      remoteState
		want    baseChoice
		wantWhy string
	}{
		{"no tool: first release", none, none, none, baseChoice{set: true}, "first release"},
		{"no version: first release", at(), none, none, baseChoice{set: true}, "no active version"},
		{"newest version's commit", at(tv("1.0.0", older), tv("1.1.0", old)), none, none, baseChoice{base: old, set: true}, "1.1.0"},
		{"commit not in history: event's before", at(tv("1.1.0", gone)), none, none, baseChoice{}, "fetch-depth: 0"},
		{"first stage at head, eu lags", at(tv("1.1.0", head)), at(tv("1.0.0", older)), at(), baseChoice{base: older, set: true}, "resume"},
		{"first stage at head, eu has none", at(tv("1.1.0", head)), none, none, baseChoice{set: true}, "first release there"},
		{"every stage at head", at(tv("1.1.0", head)), at(tv("2.0.0", head)), at(tv("1.0.0", head)), baseChoice{base: head, set: true}, "already serves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := map[string]map[string]remoteState{"us": {"weather": tt.us}, "eu": {"weather": tt.eu}, "ap": {"weather": tt.ap}}
			got := chooseBase("weather", head, order, remote, has, false)
			if got.base != tt.want.base || got.set != tt.want.set || !strings.Contains(got.why, tt.wantWhy) {
				t.Errorf("chooseBase = %+v, want base %q set %v with %q in why", got, tt.want.base, tt.want.set, tt.wantWhy)
			}
		})
	}
}

func TestChooseBase_shallowClone(t *testing.T) {
	head, gone := strings.Repeat("h", 40), strings.Repeat("c", 40)
	remote := map[string]map[string]remoteState{"us": {"weather": {known: true, tool: &amigo.Tool{ID: "t"}, versions: []amigo.ToolVersion{tv("1.0.0", gone)}}}}
	got := chooseBase("weather", head, []promote.Stage{{Name: "us"}}, remote, func(string) bool { return false }, true)
	if got.base != gone || !got.set {
		t.Errorf("shallow clone: %+v, want the released commit as base (Detect deepens or says fetch-depth: 0)", got)
	}
}

func TestDriftOf(t *testing.T) {
	c := strings.Repeat("d", 40)
	stages := []StageReport{
		{Stage: "us", Status: StatusReleased, VersionAfter: "1.2.0", CommitHash: c},
		{Stage: "eu", Status: StatusUpToDate, VersionAfter: "1.2.0", CommitHash: c},
	}
	if d := driftOf(stages, c); d != "" {
		t.Errorf("same numbers: drift %q, want none", d)
	}
	stages = append(stages, StageReport{Stage: "ap", Status: StatusReleased, VersionAfter: "2.0.1", CommitHash: c},
		StageReport{Stage: "ca", Status: StatusFailed, VersionAfter: "9.9.9"})
	d := driftOf(stages, c)
	if !strings.Contains(d, "us 1.2.0") || !strings.Contains(d, "ap 2.0.1") || strings.Contains(d, "9.9.9") {
		t.Errorf("drift = %q, want us and ap named, failed ca left out", d)
	}
}

func TestEnvvarPlan(t *testing.T) {
	tool := &amigo.Tool{Envvars: []string{"BASE_URL", "MODE"}, SecretEnvvars: []string{"TOKEN"}}
	want := []envvar{{Name: "BASE_URL", Value: "x"}, {Name: "TOKEN", Value: "s", Secret: true}, {Name: "NEW_KEY", Value: "k", Secret: true}, {Name: "MODE", Value: "m", Secret: true}}
	req, warnings := envvarPlan(tool, want)
	if len(req.Inserts) != 1 || req.Inserts[0] != (amigo.EnvvarInsert{Name: "NEW_KEY", Value: "k", IsSecret: true}) {
		t.Errorf("inserts = %+v, want NEW_KEY as a secret", req.Inserts)
	}
	if len(req.Updates) != 3 || len(req.Deletes) != 0 {
		t.Errorf("updates %+v deletes %+v, want 3 updates and never a delete", req.Updates, req.Deletes)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "MODE is plain on the tool but secret") {
		t.Errorf("warnings = %v, want one about MODE's kind", warnings)
	}
	for _, w := range warnings {
		if strings.Contains(w, "\"m\"") {
			t.Errorf("warning leaks a value: %s", w)
		}
	}
}

func TestStageBump(t *testing.T) {
	released := []amigo.ToolVersion{tv("1.0.0", "")}
	deprecated := []amigo.ToolVersion{{Version: amigo.Version{Major: 2}, Deprecated: true}}
	for _, tt := range []struct {
		commits changes.Bump
		active  []amigo.ToolVersion
		want    amigo.BumpType
	}{
		{changes.Patch, nil, amigo.BumpMajor},        // first version in the stage
		{changes.Minor, deprecated, amigo.BumpMajor}, // only deprecated versions: none active
		{changes.Patch, released, amigo.BumpPatch},
		{changes.Minor, released, amigo.BumpMinor},
		{changes.None, released, amigo.BumpPatch}, // a first release elsewhere with no feat or fix
		{changes.None, nil, amigo.BumpMajor},
	} {
		if got := stageBump(tt.commits, tt.active); got != tt.want {
			t.Errorf("stageBump(%v, %d active) = %s, want %s", tt.commits, len(tt.active), got, tt.want)
		}
	}
}

// fakeAPI answers publishes from a script and keeps versions.
type fakeAPI struct {
	API
	mu        sync.Mutex
	script    []error // answers to successive publishes; nil = success
	published int
	versions  []amigo.ToolVersion
	commit    string
	// tip, when set, is the commit the server builds (the branch moved);
	// else commit.
	tip string
	// appearAfter makes a lost publish's version show up only after that
	// many more list calls (a publish still running on the server).
	appearAfter int
	pending     *amigo.ToolVersion
	deprecated  []string
	// onVersions, when set, is called (unlocked) before each list call.
	onVersions func()
}

func (f *fakeAPI) built() string {
	if f.tip != "" {
		return f.tip
	}
	return f.commit
}

func (f *fakeAPI) next() amigo.Version {
	v := amigo.Version{Major: 1}
	if n := newest(f.versions); n != nil {
		v = n.Version.Bump(amigo.BumpMinor)
	}
	return v
}

func (f *fakeAPI) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.published
	f.published++
	if i < len(f.script) && f.script[i] != nil {
		err := f.script[i]
		if errors.Is(err, amigo.ErrUnknownOutcome) {
			v := amigo.ToolVersion{Version: f.next(), ToolCommitHash: f.built()}
			if f.appearAfter > 0 {
				f.pending = &v
			} else {
				f.versions = append(f.versions, v)
			}
		}
		return nil, err
	}
	v := amigo.ToolVersion{Version: f.next(), ToolCommitHash: f.built()}
	f.versions = append(f.versions, v)
	return &amigo.PublishResponse{NewVersion: v.Version.String()}, nil
}

func (f *fakeAPI) Versions(ctx context.Context, id string) ([]amigo.ToolVersion, error) {
	if f.onVersions != nil {
		f.onVersions()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending != nil {
		if f.appearAfter--; f.appearAfter <= 0 {
			f.versions = append(f.versions, *f.pending)
			f.pending = nil
		}
	}
	var out []amigo.ToolVersion
	for _, v := range f.versions {
		if !v.Deprecated {
			out = append(out, v)
		}
	}
	return out, nil
}

func (f *fakeAPI) DeprecateVersions(ctx context.Context, id, constraint string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.versions {
		if "=="+f.versions[i].Version.String() == constraint {
			f.versions[i].Deprecated = true
			f.deprecated = append(f.deprecated, f.versions[i].Version.String())
		}
	}
	return nil
}

func apiErr(status int, msg string, retryAfter time.Duration) error {
	return &amigo.APIError{Op: amigo.OpPublishVersion, Method: "POST", Path: "/tool/t/version", StatusCode: status, Message: msg, RetryAfter: retryAfter}
}

var errLost = &amigo.UnknownOutcomeError{Op: amigo.OpPublishVersion, Method: "POST", Path: "/tool/t/version", Err: errors.New("connection reset")}

// stepClock is a clock whose time moves only when something waits on it:
// a wait of d returns at once with the time d later. publish runs on one
// goroutine, so its retries and budget are then exact however slow the
// machine is (a scaled clock's budget of a simulated hour is a few real
// milliseconds, which a loaded machine can lose between two attempts).
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStepClock() *stepClock {
	return &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advance(d)
	return nil
}

func (c *stepClock) NewTimer(d time.Duration) clock.Timer {
	t := &stepTimer{clk: c, c: make(chan time.Time, 1)}
	t.Start(d)
	return t
}

// stepTimer fires as soon as it is started, moving its clock on by d; a
// timer of a century or more never fires.
type stepTimer struct {
	clk *stepClock
	c   chan time.Time
}

func (t *stepTimer) C() <-chan time.Time { return t.c }

func (t *stepTimer) Start(d time.Duration) {
	t.Stop()
	if d >= 100*365*24*time.Hour {
		return
	}
	t.c <- t.clk.advance(d)
}

func (t *stepTimer) Stop() {
	select {
	case <-t.c:
	default:
	}
}

func TestPublish(t *testing.T) {
	capMsg := "More than 3 active versions of the tool exist (4 are not deprecated); deprecate one before publishing."
	tests := []struct {
		name         string
		script       []error
		seed         []amigo.ToolVersion
		appearAfter  int
		budget       time.Duration
		wantVersion  string
		wantAttempts int
		wantErr      string
		wantReconc   bool
		wantPruned   []string
	}{
		{"409 then success", []error{apiErr(409, "busy", 0), apiErr(409, "busy", 0), nil}, nil, 0, time.Hour, "1.0.0", 3, "", false, nil},
		{"429 and 503 are refusals before work", []error{apiErr(429, "slow down", 30*time.Second), apiErr(503, "maintenance", 0), nil}, nil, 0, time.Hour, "1.0.0", 3, "", false, nil},
		{"lost answer found by commit", []error{errLost}, nil, 0, time.Hour, "1.0.0", 1, "", true, nil},
		{"lost answer while the publish still runs", []error{errLost, apiErr(409, "in progress", 0), apiErr(409, "in progress", 0)}, nil, 3, time.Hour, "1.0.0", 3, "", true, nil},
		{"409 while an earlier run's publish of the commit finishes", []error{apiErr(409, "in progress", 0), nil},
			[]amigo.ToolVersion{tv("1.0.0", "c0ffee0")}, 0, time.Hour, "1.0.0", 1, "", true, nil},
		{"cap refusal prunes one and retries once", []error{apiErr(400, capMsg, 0), nil},
			[]amigo.ToolVersion{tv("1.0.0", "x"), tv("1.1.0", "y"), tv("1.2.0", "z"), tv("1.3.0", "w")}, 0, time.Hour, "1.4.0", 2, "", false, []string{"1.1.0"}},
		{"second cap refusal fails", []error{apiErr(400, capMsg, 0), apiErr(400, capMsg, 0)},
			[]amigo.ToolVersion{tv("1.0.0", "x"), tv("1.1.0", "y"), tv("1.2.0", "z"), tv("1.3.0", "w")}, 0, time.Hour, "", 2, "active versions", false, []string{"1.1.0"}},
		{"build failure is permanent", []error{apiErr(400, "Tool build has failed.", 0)}, nil, 0, time.Hour, "", 1, "build has failed", false, nil},
		{"budget runs out", slices.Repeat([]error{apiErr(409, "busy", 0)}, 500), nil, 0, 5 * time.Minute, "", 0, "retry budget", false, nil},
		{"a zero budget is one attempt", []error{apiErr(409, "busy", 0), nil}, nil, 0, 0, "", 1, "retry budget", false, nil},
		{"a zero budget still retries a cap refusal once", []error{apiErr(400, capMsg, 0), nil},
			[]amigo.ToolVersion{tv("1.0.0", "x"), tv("1.1.0", "y"), tv("1.2.0", "z"), tv("1.3.0", "w")}, 0, 0, "1.4.0", 2, "", false, []string{"1.1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{script: tt.script, commit: "c0ffee0", versions: tt.seed, appearAfter: tt.appearAfter}
			pol := retryPolicy{Budget: tt.budget, Initial: 10 * time.Second, Max: time.Minute, Clock: newStepClock()}
			req := publishRequest{ToolID: "t", Body: amigo.PublishRequest{ProjectPath: "tools/w", BumpType: amigo.BumpMinor}, Commit: "c0ffee0",
				Pinned: func(v amigo.Version) bool { return v.String() == "1.0.0" }}
			var notes []string
			out, err := publishWithRetries(t.Context(), t.Context(), f, pol, req, func(s string) { notes = append(notes, s) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil || out.Version != tt.wantVersion {
				t.Fatalf("publish = %q, %v; want %s", out.Version, err, tt.wantVersion)
			}
			if tt.wantAttempts > 0 && out.Attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", out.Attempts, tt.wantAttempts)
			}
			if out.Reconciled != tt.wantReconc {
				t.Errorf("reconciled = %v, want %v", out.Reconciled, tt.wantReconc)
			}
			if !slices.Equal(out.CapPruned, tt.wantPruned) {
				t.Errorf("pruned for the cap = %v, want %v", out.CapPruned, tt.wantPruned)
			}
			n := 0
			for _, v := range f.versions {
				if v.ToolCommitHash == "c0ffee0" {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d versions for one commit: never two", n)
			}
		})
	}
}

// When retrying ends (budget spent, run halted) while a lost publish is
// still building, publish looks for the commit's version once more: a
// version that is live is reported as released, never as a failure.
func TestPublish_lastLookWhenRetryingEnds(t *testing.T) {
	halt, stop := context.WithCancel(t.Context())
	defer stop()
	f := &fakeAPI{script: []error{errLost, apiErr(409, "in progress", 0)}, commit: "c0ffee0", appearAfter: 2, onVersions: stop}
	pol := retryPolicy{Budget: time.Hour, Initial: 10 * time.Second, Max: time.Minute, Clock: newStepClock()}
	out, err := publishWithRetries(t.Context(), halt, f, pol, publishRequest{ToolID: "t", Commit: "c0ffee0"}, func(string) {})
	if err != nil || out.Version != "1.0.0" || !out.Reconciled || out.Attempts != 2 {
		t.Fatalf("publish = %+v, %v; want 1.0.0 found by commit after 2 attempts", out, err)
	}
	if n := len(f.versions); n != 1 {
		t.Errorf("%d versions, want 1", n)
	}
}

// A lost publish whose server built another commit (the branch moved) is
// still this publish's outcome: it is found, not published over (verify
// then finds it untested). Without a lost answer, a version of another
// commit is someone else's and is not taken.
func TestPublish_lostAnswerOfAnotherCommit(t *testing.T) {
	before := []amigo.ToolVersion{tv("1.0.0", "0ld0000")}
	f := &fakeAPI{script: []error{errLost}, commit: "c0ffee0", tip: "m0ved00", versions: slices.Clone(before)}
	pol := retryPolicy{Budget: time.Hour, Initial: 10 * time.Second, Max: time.Minute, Clock: newStepClock()}
	out, err := publishWithRetries(t.Context(), t.Context(), f, pol, publishRequest{ToolID: "t", Commit: "c0ffee0", Before: before}, func(string) {})
	if err != nil || out.Version != "1.1.0" || !out.Reconciled || out.Attempts != 1 || f.published != 1 {
		t.Fatalf("publish = %+v, %v (%d sent); want the lost attempt's 1.1.0 found, nothing sent again", out, err, f.published)
	}
	f = &fakeAPI{script: []error{apiErr(409, "in progress", 0), nil}, commit: "c0ffee0", versions: append(slices.Clone(before), tv("1.1.0", "0ther00"))}
	out, err = publishWithRetries(t.Context(), t.Context(), f, pol, publishRequest{ToolID: "t", Commit: "c0ffee0", Before: before}, func(string) {})
	if err != nil || out.Version != "1.2.0" || out.Reconciled {
		t.Fatalf("after a 409: %+v, %v; want a publish of its own (1.2.0)", out, err)
	}
}

// finishesFirst makes an earlier publish of the commit finish right after
// the reconciliation's list and before the second attempt reaches the
// server.
type finishesFirst struct {
	*fakeAPI
	calls int
}

func (f *finishesFirst) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	f.calls++
	if f.calls == 2 {
		f.mu.Lock()
		f.versions = append(f.versions, tv("1.0.0", f.commit))
		f.mu.Unlock()
	}
	return f.fakeAPI.PublishVersion(ctx, id, req)
}

// An earlier publish of the commit that finishes between the last look and
// the next attempt lets that attempt through: the second version is
// deprecated at once, and the earlier one is the outcome.
func TestPublish_raceWithAnEarlierPublishIsCleanedUp(t *testing.T) {
	f := &finishesFirst{fakeAPI: &fakeAPI{script: []error{apiErr(409, "in progress", 0), nil}, commit: "c0ffee0"}}
	pol := retryPolicy{Budget: time.Hour, Initial: 10 * time.Second, Max: time.Minute, Clock: newStepClock()}
	out, err := publishWithRetries(t.Context(), t.Context(), f, pol, publishRequest{ToolID: "t", Commit: "c0ffee0"}, func(string) {})
	if err != nil || out.Version != "1.0.0" || out.Duplicate != "1.1.0" || out.DuplicateErr != nil || !out.Reconciled {
		t.Fatalf("publish = %+v, %v; want 1.0.0 kept and the duplicate 1.1.0 deprecated", out, err)
	}
	if !slices.Equal(f.deprecated, []string{"1.1.0"}) {
		t.Errorf("deprecated %v, want [1.1.0]", f.deprecated)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f := &fakeAPI{script: []error{apiErr(429, "slow down", 7*time.Minute)}, commit: "c0ffee0"}
	clk := newStepClock()
	pol := retryPolicy{Budget: time.Hour, Initial: time.Second, Max: 2 * time.Second, Clock: clk}
	start := clk.Now()
	if _, err := publishWithRetries(t.Context(), t.Context(), f, pol, publishRequest{ToolID: "t", Commit: "c0ffee0"}, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if waited := clk.Now().Sub(start); waited < 7*time.Minute {
		t.Errorf("waited %v, want at least the 7m Retry-After", waited)
	}
}

func TestToolStatus(t *testing.T) {
	tests := []struct {
		stages []Status
		want   Status
	}{
		{[]Status{StatusReleased, StatusUpToDate}, StatusReleased},
		{[]Status{StatusUpToDate, StatusSkipped}, StatusUpToDate},
		{[]Status{StatusReleased, StatusFailed, StatusBlocked}, StatusFailed},
		{[]Status{StatusReleased, StatusBlocked}, StatusBlocked},
		{[]Status{StatusPlanned, StatusUpToDate}, StatusPlanned},
		{[]Status{StatusReleased, StatusPending}, StatusPending},
	}
	for _, tt := range tests {
		tr := &ToolReport{}
		for _, s := range tt.stages {
			tr.Stages = append(tr.Stages, StageReport{Status: s})
		}
		if got := toolStatus(tr); got != tt.want {
			t.Errorf("toolStatus(%v) = %s, want %s", tt.stages, got, tt.want)
		}
	}
}

func TestRunLogGroupsAndMasks(t *testing.T) {
	var buf bytes.Buffer
	// A manual clock: the elapsed times are +0s however long the lines
	// take to write (on the real clock a slow machine printed +1ms).
	clk := clock.NewManual(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	l := newRunLog(NewTextLogger(&buf), []string{"hunter2"}, clk.Now)
	l.step(levelInfo, "weather", "us", "publish", "token hunter2 100% done", time.Second)
	l.addSecrets([]string{"sk-new"})
	l.step(levelError, "weather", "us", "smoke", "failed with sk-new", 0)
	l.Infof("run line with hunter2")
	l.flush("weather", "weather: failed")
	out := buf.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "sk-new") {
		t.Fatalf("secret printed:\n%s", out)
	}
	want := []string{"] run line with ***", "▸ weather: failed", "  [+0s] weather us publish: token *** 100% done (1s)", "  error: [+0s] weather us smoke: failed with ***"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
	if strings.Index(out, "run line") > strings.Index(out, "▸ weather") {
		t.Errorf("tool lines must wait for the group; run lines go out at once:\n%s", out)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{850 * time.Millisecond: "850ms", 12 * time.Second: "12s", 185 * time.Second: "3m05s", 62 * time.Minute: "1h02m"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestIsCapRefusal(t *testing.T) {
	if !isCapRefusal(fmt.Errorf("wrapped: %w", apiErr(http.StatusBadRequest, "More than 3 active versions of the tool exist", 0))) {
		t.Errorf("cap refusal not recognised")
	}
	if isCapRefusal(apiErr(http.StatusBadRequest, "Tool build has failed.", 0)) {
		t.Errorf("build failure taken for a cap refusal")
	}
}

func TestRemainingWorkOrdersTheTestQueue(t *testing.T) {
	order := []promote.Stage{
		{Name: "us", Test: true},
		{Name: "eu", Needs: []string{"us"}, Soak: 30 * time.Minute},
		{Name: "ap", Needs: []string{"eu"}},
		{Name: "ca", Needs: []string{"eu"}},
	}
	mk := func(name string, skip []string, servesIn ...string) *toolRun {
		t := &toolRun{name: name, commit: "c0ffee0", settings: toolSettings{SkipStages: skip}, byName: map[string]*stageRun{}}
		for _, st := range order {
			s := &stageRun{spec: st}
			if slices.Contains(servesIn, st.Name) {
				s.remote.versions = []amigo.ToolVersion{tv("1.0.0", "c0ffee0")}
			}
			t.byName[st.Name] = s
		}
		return t
	}
	full := mk("zeta", nil)
	skips := mk("alpha", []string{"eu", "ap"})
	served := mk("beta", nil, "eu")
	want := map[*toolRun]time.Duration{
		full:   3*time.Minute + 33*time.Minute + 3*time.Minute, // us, eu with its soak, then ap or ca
		skips:  3*time.Minute + 3*time.Minute,                  // us, then ca
		served: 3*time.Minute + 3*time.Minute,                  // us, eu already serves the commit, then ap or ca
	}
	for tr, w := range want {
		if got := remainingWork(order, estimator{}, tr, "us"); got != w {
			t.Errorf("%s: remaining work %v, want %v", tr.name, got, w)
		}
	}
	if got := remainingWork(order, estimator{}, full, "eu"); got != 36*time.Minute {
		t.Errorf("from eu: %v, want 36m (eu with its soak, then ap or ca; not us)", got)
	}
	got := sortTools([]*toolRun{skips, served, full}, func(tr *toolRun) time.Duration { return remainingWork(order, estimator{}, tr, "us") })
	var names []string
	for _, tr := range got {
		names = append(names, tr.name)
	}
	if !slices.Equal(names, []string{"zeta", "alpha", "beta"}) {
		t.Errorf("queue order %v, want zeta (most work left), then alpha and beta by name", names)
	}
}

func TestRunLogLeavesTooShortSecretsAlone(t *testing.T) {
	// A 1-3 character "secret" would turn every "u" in the log into "***";
	// the CLI warns about it by name instead.
	var buf bytes.Buffer
	l := newRunLog(NewTextLogger(&buf), []string{"u", "abc", "abcd"}, clock.NewScaled(1).Now)
	l.Infof("us publish abcde")
	if out := buf.String(); !strings.Contains(out, "us publish ***e") {
		t.Errorf("log = %q, want short values untouched and the 4-character one masked", out)
	}
}

// A 429 that arrives when the budget is spent gets one more wait of its
// Retry-After (issue 13, item 4); other errors, and a second such 429, stop.
func TestRetryAfterBackOffLastChance(t *testing.T) {
	lastChances := 0
	pol := retryPolicy{Budget: 0, Initial: 10 * time.Second, Max: time.Minute, Clock: newStepClock(), OnLastChance: func() { lastChances++ }}
	b := pol.newBackOff()
	b.Reset()
	b.observe(apiErr(503, "maintenance", 5*time.Second))
	if d := b.NextBackOff(); d != backoff.Stop {
		t.Errorf("503 at the end of the budget: wait %v, want stop", d)
	}
	b.observe(apiErr(429, "slow down", 42*time.Second))
	if d := b.NextBackOff(); d != 42*time.Second {
		t.Errorf("429 at the end of the budget: wait %v, want its Retry-After 42s", d)
	}
	b.observe(apiErr(429, "slow down", 42*time.Second))
	if d := b.NextBackOff(); d != backoff.Stop || lastChances != 1 {
		t.Errorf("second 429: wait %v (last chances %d), want stop after one", d, lastChances)
	}
	b.Reset()
	b.observe(apiErr(429, "slow down", 0))
	if d := b.NextBackOff(); d != 10*time.Second {
		t.Errorf("429 without Retry-After after a reset: wait %v, want the initial interval", d)
	}
}

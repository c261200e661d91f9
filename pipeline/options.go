package pipeline

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/promote"
)

// Mode selects what Run does.
type Mode string

// Modes.
const (
	// ModeRun releases: every mutating call the plan asks for.
	ModeRun Mode = "run"
	// ModePlan does the same analysis with read-only API calls (list tools,
	// list versions) and reports what a run would do (StatusPlanned).
	ModePlan Mode = "plan"
	// ModeOffline plans without any API call: bases come from Options.Base
	// or Options.EventBefore, and versions before and after are unknown.
	ModeOffline Mode = "offline"
)

// Options configure Run. Plan and RepoPath are required.
type Options struct {
	// Plan is the loaded release plan (promote.Load).
	Plan *promote.Plan
	// RepoPath is the git repository (a directory inside the work tree).
	RepoPath string
	// Head is the commit to release (a revision: SHA, branch, tag); default
	// "HEAD".
	Head string
	// Base, when set, is every tool's base commit (highest precedence; see
	// DESIGN §5 for the default).
	Base string
	// EventBefore is the push event's "before" commit: the base of a tool
	// whose newest version in the first stage names no commit in local
	// history.
	EventBefore string
	// Deepen, when set, lets change detection fetch history from the remote
	// when a base commit is missing from a shallow clone; without it that
	// is an error that says fetch-depth: 0.
	Deepen *changes.DeepenOptions
	// Remote says how to read the origin remote's branch tips (its
	// credentials go only to its own host), for the check that the commit
	// being released is the tip of every stage's branch. Nil checks the
	// local refs only (refs/remotes/origin/<branch>, else
	// refs/heads/<branch>).
	Remote *changes.DeepenOptions
	// Stop, when it is closed, interrupts the run (SIGINT, SIGTERM): nothing
	// new starts and waits end, while calls in flight go on until ctx is
	// cancelled (the caller's grace period). The report then says what is
	// done, pending (not started) and unknown (a publish whose answer never
	// came).
	Stop <-chan struct{}
	// Tools, when not empty, limits the run to these tool names; other
	// changed tools are reported as skipped.
	Tools []string
	// FailFast stops the whole run at the first failure: nothing new starts,
	// waits are cancelled, and calls in flight finish (so no outcome is left
	// unknown).
	FailFast bool
	// Mode is ModeRun (default), ModePlan or ModeOffline.
	Mode Mode
	// DryRun runs as ModePlan but marks the report as a dry run of "run".
	DryRun bool
	// Clock is the time source; default clock.Real{}.
	Clock clock.Clock
	// Getenv reads credentials and secret envvar values; default os.Getenv.
	Getenv func(string) string
	// Clients builds each stage's API; default DefaultClientFactory with
	// Getenv, Clock and the plan's publish.timeout.
	Clients ClientFactory
	// Logger receives the log; default none.
	Logger Logger
	// OnSecrets, when set, is called with secret values as soon as Run
	// learns them (secret envvars of a project's pyproject.toml, resolved
	// from the environment) and before any of them could be printed, so a
	// face can register them for masking (SecretValues gives the plan's).
	OnSecrets func(values []string)
	// Records, when set, records each tool version once it serves in the
	// first stage (a tag, a release); see Recorder.
	Records Recorder
	// History, when set, is what an earlier run measured (ReadHistory of
	// its report JSON): the test queue takes the tools with the longest
	// expected remaining chain of publishes first. Without it, the tools
	// with the most stages left go first, then by name.
	History *History
	// FanOut, in plan mode, asks for the schedule of a CI matrix that runs
	// one job per tool on the same credentials: each tool that would
	// release gets a slot (ToolReport.Slot) for its job's Share.
	FanOut *FanOut
	// Share, in a job of such a matrix, is the job's part of the shared
	// limits (amigo.ParseShare of its slot): its test goes out in its own
	// slot, and it keeps to its part of every other limit. The client
	// factory must pace with it too (ClientConfig.Share); Run says when
	// the slot comes.
	Share *amigo.Share
	// TestDispatchSpacing is the least time between two test-tool calls
	// dispatched to one server (they are rate limited to one a minute there);
	// default one minute. It only orders the queue: the client's pacer
	// enforces the limit.
	TestDispatchSpacing time.Duration
}

// plan reports whether the run must not mutate anything.
func (o *Options) readOnly() bool { return o.Mode == ModePlan || o.Mode == ModeOffline || o.DryRun }

func (o *Options) normalize() error {
	if o.Plan == nil {
		return errors.New("Options.Plan is nil: load the plan with promote.Load first")
	}
	if len(o.Plan.Stages) == 0 {
		return fmt.Errorf("%s: the plan has no stages: add at least one under stages:", o.Plan.File)
	}
	// promote owns the plan's defaults (Parse fills them in); a plan that
	// lacks them was not made by Parse.
	for _, st := range o.Plan.Stages {
		if st.Branch == "" || st.Concurrency < 1 || st.ActiveCap < 1 || st.BaseURL == "" {
			return fmt.Errorf("Options.Plan: stage %q has no branch, concurrency, active_cap or base URL: load the plan with promote.Load or promote.Parse, which fill in the defaults", st.Name)
		}
	}
	if p := o.Plan.Publish; p.InitialInterval <= 0 || p.MaxInterval <= 0 {
		return errors.New("Options.Plan: publish intervals are not set: load the plan with promote.Load or promote.Parse, which fill in the defaults")
	}
	if o.RepoPath == "" {
		o.RepoPath = "."
	}
	if o.Head == "" {
		o.Head = "HEAD"
	}
	switch o.Mode {
	case "":
		o.Mode = ModeRun
	case ModeRun, ModePlan, ModeOffline:
	default:
		return fmt.Errorf("unknown mode %q: use %q, %q or %q", o.Mode, ModeRun, ModePlan, ModeOffline)
	}
	if o.DryRun && o.Mode == ModeRun {
		o.Mode = ModePlan
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if fo := o.FanOut; fo != nil && (fo.Jobs < 1 || fo.Jobs > MaxFanOutJobs) {
		return fmt.Errorf("Options.FanOut.Jobs %d: want 1 to %d (the jobs at once that one user's limits can be shared between)", fo.Jobs, MaxFanOutJobs)
	}
	if o.Clients == nil {
		o.Clients = DefaultClientFactory(ClientConfig{Getenv: o.Getenv, Clock: o.Clock, PublishTimeout: o.Plan.Publish.Timeout, Share: o.Share})
	}
	if o.Logger == nil {
		o.Logger = discardLogger{}
	}
	if o.TestDispatchSpacing <= 0 {
		o.TestDispatchSpacing = time.Minute
	}
	return nil
}

// SecretValues returns the values the caller must mask before anything is
// printed: every stage's credentials and every secret tool envvar the plan
// reads from the environment. Secrets declared only in a project's
// pyproject.toml are added by Run to its own masking; faces that print the
// report should mask Report values through the same list.
func SecretValues(plan *promote.Plan, getenv func(string) string) []string {
	if plan == nil {
		return nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	var out []string
	for _, name := range plan.SecretEnvNames() {
		if v := getenv(name); v != "" {
			out = append(out, v)
		}
	}
	return out
}

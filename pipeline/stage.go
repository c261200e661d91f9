package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// stageRun is one tool in one stage while the run is in progress.
type stageRun struct {
	spec promote.Stage
	// first is set on the plan's first stage (DAG order): the only stage
	// where a version built from an untested commit may stay (see verify).
	first bool
	api   API
	rep   *StageReport
	// remote is what the analysis saw in this stage (may be stale).
	remote remoteState
	// listed: the analysis listed this stage's tools, so remote.tool nil
	// means the tool did not exist then.
	listed bool

	// What the steps learn as they go.
	tool   *amigo.Tool         // ensure: the tool in this stage
	active []amigo.ToolVersion // versions: its non-deprecated versions before publishing
	// serving is the version that already serves the commit (an earlier
	// run's publish), found by the versions step: the stage adopts it
	// instead of publishing, once its gates have passed in this run.
	serving *amigo.ToolVersion
	// published: the publish step made VersionAfter in this run.
	published bool
	// confirmed: the stage serves the tested commit (verify passed, or an
	// adopted version needed no verify). Only then may on_failure:
	// continue let the stages that need this one go on after a later
	// failure (a smoke): they never get a version this stage does not
	// serve.
	confirmed bool
	// created: ensure created the tool in this run (it has no version).
	created bool
	// reused: the versions step used the analysis' list.
	reused bool
	// blind: the versions step did not list the versions before the
	// publish (publishesBlind): verify's list after it says what was
	// there.
	blind bool
	// seen is the latest list of the stage's versions this run has (the
	// analysis', the versions step's or verify's; seenOK when there is
	// one), for the stray check (strays.go); strayChecked: that check has
	// looked at this stage in this run.
	seen         []amigo.ToolVersion
	seenOK       bool
	strayChecked bool
	// after is verify's list of the versions once the stage serves its
	// version; prune works from it.
	after []amigo.ToolVersion
	// liveSince is when the adopted version was created (nil when the
	// server did not say), for what is left of the soak.
	liveSince *time.Time
	test      *testJob
	// done is closed when dependents may look at proceed.
	done    chan struct{}
	proceed bool
}

// see records a list of the stage's versions read in this run.
func (s *stageRun) see(vs []amigo.ToolVersion) {
	s.seen, s.seenOK = vs, true
}

// adopting reports a stage that already serves the commit.
func (s *stageRun) adopting() bool { return s.serving != nil }

// remoteState is a tool as one stage's server knows it.
type remoteState struct {
	known    bool // the analysis asked the server
	tool     *amigo.Tool
	versions []amigo.ToolVersion // non-deprecated
	highest  *amigo.Version      // plan mode: the highest version ever published (numbering.go)
}

// stepPhase says when a step runs relative to the stage's concurrency slot
// and to the stages that need this one.
type stepPhase int

const (
	// holdsSlot: the step runs holding one of the stage's concurrency slots.
	holdsSlot stepPhase = iota
	// slotFree: the slot is given back first (a soak must not hold it);
	// stages that need this one still wait.
	slotFree
	// afterDone: stages that need this one may already start (pruning old
	// versions is housekeeping, not a gate).
	afterDone
)

// stageStep is one step of a tool's stage.
type stageStep struct {
	name string
	// runs reports whether the step applies to this tool in this stage
	// (nil: always); it may look at what earlier steps found.
	runs func(r *runner, t *toolRun, s *stageRun) bool
	// do performs the step and says in a few words what it did. errSkip
	// means there was nothing to do (no step is recorded); a *stepWarning
	// is recorded but does not fail the stage.
	do func(r *runner, ctx context.Context, t *toolRun, s *stageRun) (string, error)
	// plan says what a run would do (plan mode and dry runs); ok false
	// leaves the step out of the plan.
	plan  func(r *runner, t *toolRun, s *stageRun) (what string, ok bool)
	phase stepPhase
	// optional steps are housekeeping that never fails the stage (record,
	// prune): once the run is halted or interrupted they are left out, not
	// failed.
	optional bool
	// completes, when it holds, makes the step part of what an earlier step
	// did rather than new work: it runs even once the run is halted or
	// interrupted, for as long as the caller's ctx lasts. A halt lets the
	// calls in flight finish; a publish that finishes must also be
	// verified, or a version built from another commit (the branch moved)
	// would stay live unchecked, beyond the first stage too, and a rerun
	// from a tip where the tool has not changed would never look at it.
	completes func(r *runner, t *toolRun, s *stageRun) bool
}

// stageSteps is the one ordered list of what a stage does for a tool. A
// run walks it (runStage); plan mode describes it (planStage). Each step
// lives in the file named for it.
var stageSteps = []stageStep{
	{name: "ensure", do: (*runner).ensure, plan: (*runner).planEnsure},
	{name: "versions", do: (*runner).versions},
	{name: "envvars", runs: syncsEnvvars, do: (*runner).syncEnvvars, plan: (*runner).planEnvvars},
	{name: "test", runs: tests, do: (*runner).testGate, plan: (*runner).planTest},
	{name: "publish", runs: publishes, do: (*runner).publish, plan: (*runner).planPublish},
	{name: "verify", runs: verifies, do: (*runner).verify, plan: (*runner).planVerify, completes: publishedHere},
	{name: "smoke", runs: smokes, do: (*runner).smoke, plan: (*runner).planSmoke},
	{name: "record", runs: records, do: (*runner).recordVersion, phase: slotFree, optional: true},
	{name: "soak", runs: soaks, do: (*runner).soak, plan: (*runner).planSoak, phase: slotFree},
	{name: "prune", do: (*runner).prune, plan: (*runner).planPrune, phase: afterDone, optional: true},
}

// The conditions of the steps that do not always run.
func syncsEnvvars(_ *runner, t *toolRun, s *stageRun) bool {
	return !s.adopting() && len(t.settings.Envvars) > 0
}
func tests(_ *runner, _ *toolRun, s *stageRun) bool     { return s.spec.Test }
func publishes(_ *runner, _ *toolRun, s *stageRun) bool { return !s.adopting() }

// verifies: a published version is checked against the tested commit; an
// adopted one, in a test-gated stage, against the branch tip the test ran
// on.
func verifies(_ *runner, _ *toolRun, s *stageRun) bool { return !s.adopting() || s.spec.Test }
func smokes(_ *runner, _ *toolRun, s *stageRun) bool   { return s.spec.Smoke }

// publishedHere: the publish step made a version in this run.
func publishedHere(_ *runner, _ *toolRun, s *stageRun) bool { return s.published }
func soaks(r *runner, _ *toolRun, s *stageRun) bool {
	d, _ := r.soakLeft(s)
	return d > 0
}

// errSkip is a step's "nothing to do": no step is recorded or logged.
var errSkip = errors.New("nothing to do")

// stepWarning is a step's problem that does not fail its stage (a prune
// that could not deprecate a version): recorded, logged as a warning.
type stepWarning struct{ msg string }

func (w *stepWarning) Error() string { return w.msg }

// runStage walks stageSteps for one tool in one stage and records the
// result in s.rep. It calls unlock (giving back the stage's concurrency
// slot) after a failure has been recorded (and has halted the run when the
// policy says so) or when the first slotFree step comes, closes s.done
// before the first afterDone step so that dependents can start.
func (r *runner) runStage(ctx context.Context, t *toolRun, s *stageRun, unlock func()) {
	start := r.clk.Now()
	s.rep.StartedAt = start
	settled := false
	settle := func() {
		if !settled {
			settled = true
			s.rep.Duration = r.clk.Now().Sub(start)
			close(s.done)
		}
	}
	defer settle()
	phase := holdsSlot
	for _, st := range stageSteps {
		if st.phase != phase {
			if phase == holdsSlot {
				// The gates have passed: the stage serves the commit.
				s.rep.Status = StatusUpToDate
				if s.published {
					s.rep.Status = StatusReleased
				}
				s.proceed = true
				unlock()
			}
			if st.phase == afterDone {
				settle()
			}
			phase = st.phase
		}
		if st.runs != nil && !st.runs(r, t, s) {
			continue
		}
		if err := r.step(ctx, t, s, st); err != nil {
			// Halt (on_failure: halt, --fail-fast) before giving the slot
			// back, so that no waiting stage starts in between.
			r.failStage(ctx, t, s, err)
			unlock()
			return
		}
	}
}

// step runs one step of a stage, timing it, recording a StepReport and
// logging one line. No new step starts once the run is halted or
// interrupted (an optional step, housekeeping such as a prune or a record,
// is left out), except one that completes an earlier step's work (verify
// after a publish that finished): only ctx stops that.
func (r *runner) step(ctx context.Context, t *toolRun, s *stageRun, st stageStep) error {
	if err := r.haltErr(ctx); err != nil {
		switch {
		case st.optional:
			return nil
		case ctx.Err() == nil && st.completes != nil && st.completes(r, t, s) && (st.runs == nil || st.runs(r, t, s)):
		default:
			return err
		}
	}
	start := r.clk.Now()
	what, err := st.do(r, ctx, t, s)
	if errors.Is(err, errSkip) {
		return nil
	}
	d := r.clk.Now().Sub(start)
	if st.name == "test" && s.test != nil && !s.test.finished.IsZero() {
		// The test ran in the queue before the stage waited for it: report
		// the call's own time (pacing included), not the wait.
		d = s.test.finished.Sub(s.test.started)
	}
	sr := StepReport{Name: st.name, Status: StatusDone, Duration: d}
	if st.name == "publish" {
		sr.Attempts = s.rep.Attempts
	}
	lv := levelInfo
	if w, ok := errors.AsType[*stepWarning](err); ok {
		sr.Error = r.log.mask(w.msg)
		s.rep.Warnings = append(s.rep.Warnings, sr.Error)
		what += "; " + sr.Error
		lv = levelWarning
		err = nil
	}
	if err != nil {
		sr.Status = StatusFailed
		sr.Error = r.log.mask(err.Error())
		what = "failed: " + sr.Error
		lv = levelError
	}
	if what == "" {
		what = "ok"
	}
	s.rep.Steps = append(s.rep.Steps, sr)
	r.log.step(lv, t.name, s.spec.Name, st.name, what, d)
	return err
}

// failStage records err as the stage's failure and applies the stage's
// on_failure policy. Work stopped by a halt elsewhere is blocked; work
// stopped by an interrupt or by the caller cancelling ctx is pending, or
// unknown when a publish was in flight and its outcome is not known:
// neither is this stage's failure.
func (r *runner) failStage(ctx context.Context, t *toolRun, s *stageRun, err error) {
	live := func() {
		switch {
		case s.rep.VersionAfter == "" || s.rep.Status == StatusUnknown:
		case s.published && !s.confirmed:
			// Verify could not run to its end (ctx ended first).
			s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("%s is live in %s, but the run stopped before checking that it was built from the tested commit %s: if the branch moved meanwhile it was not, so check its tool_commit_hash and deprecate it if it differs (DELETE .../version/==%s)",
				s.rep.VersionAfter, s.spec.Name, changes.ShortSHA(t.commit), s.rep.VersionAfter))
		default:
			s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("%s is live in %s, but the run stopped before the stage finished: a rerun finds it (nothing is published again) and finishes the stage's gates", s.rep.VersionAfter, s.spec.Name))
		}
	}
	s.proceed = false
	stopped := ctx.Err() != nil || r.interrupted()
	switch {
	case errors.Is(err, amigo.ErrUnknownOutcome) && (stopped || errors.Is(err, errOutcomeUnknown)):
		// A publish was sent and its answer never came.
		s.rep.Status = StatusUnknown
		s.rep.Error = r.log.mask(err.Error())
		s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("the outcome of the publish in %s is unknown (its answer never came): a rerun looks for a version of %s before publishing, so nothing is published twice", s.spec.Name, changes.ShortSHA(t.commit)))
		return
	case stopped && (errors.Is(err, errInterrupted) || errors.Is(err, context.Canceled) || ctx.Err() != nil):
		s.rep.Status = StatusPending
		s.rep.Error = "not finished: " + r.log.mask(err.Error())
		live()
		return
	case errors.Is(err, errHalted) || (r.haltCtx.Err() != nil && errors.Is(err, context.Canceled)):
		// Stopped between steps (or in a wait) by a halt elsewhere: not
		// this stage's failure.
		s.rep.Status = StatusBlocked
		if herr := r.haltErr(ctx); herr != nil {
			err = herr
		}
		s.rep.Error = err.Error()
		live()
		return
	}
	s.rep.Status = StatusFailed
	if s.rep.Error == "" {
		s.rep.Error = r.log.mask(err.Error())
	}
	s.proceed = s.spec.OnFailure == promote.OnFailureContinue && s.confirmed
	if s.spec.OnFailure == promote.OnFailureHalt || r.opts.FailFast {
		reason := fmt.Sprintf("%s failed in %s", t.name, s.spec.Name)
		if r.opts.FailFast {
			reason += " (--fail-fast)"
		} else {
			reason += " (on_failure: halt)"
		}
		r.haltRun(reason)
	}
}

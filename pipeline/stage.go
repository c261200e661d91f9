package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/promote"
)

// stageRun is one tool in one stage while the run is in progress.
type stageRun struct {
	spec promote.Stage
	api  API
	rep  *StageReport
	// remote is what the analysis saw in this stage (may be stale).
	remote remoteState
	// listed: the analysis listed this stage's tools, so remote.tool nil
	// means the tool did not exist then.
	listed bool
	// liveSince is when the version serving the commit was created, for a
	// stage found up to date (nil when the server did not say).
	liveSince *time.Time
	test      *testJob
	// done is closed when dependents may look at proceed.
	done    chan struct{}
	proceed bool
}

// remoteState is a tool as one stage's server knows it.
type remoteState struct {
	known    bool // the analysis asked the server
	tool     *amigo.Tool
	versions []amigo.ToolVersion // non-deprecated
	highest  *amigo.Version      // plan mode: the highest version ever published (numbering.go)
}

// step runs one step of a stage, timing it, recording a StepReport and
// logging one line. fn returns a short description of what it did.
func (r *runner) step(ctx context.Context, t *toolRun, s *stageRun, name string, fn func() (string, error)) error {
	if err := r.haltErr(ctx); err != nil {
		return err
	}
	start := r.clk.Now()
	what, err := fn()
	d := r.clk.Now().Sub(start)
	if name == "test" && s.test != nil && !s.test.finished.IsZero() {
		// The test ran in the queue before the stage waited for it: report
		// the call's own time (pacing included), not the wait.
		d = s.test.finished.Sub(s.test.started)
	}
	sr := StepReport{Name: name, Status: StatusReleased, Duration: d}
	if name == "publish" {
		sr.Attempts = s.rep.Attempts
	}
	lv := levelInfo
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
	r.log.step(lv, t.name, s.spec.Name, name, what, d)
	return err
}

// runStage runs every step of one tool in one stage and records the result
// in s.rep. It calls unlock (giving back the stage's concurrency slot) after
// a failure has been recorded (and has halted the run when the policy says
// so) or before soaking, closes s.done after the soak so that dependents can start, then
// prunes.
func (r *runner) runStage(ctx context.Context, t *toolRun, s *stageRun, unlock func()) {
	start := r.clk.Now()
	s.rep.StartedAt = start
	settle := func() {
		s.rep.Duration = r.clk.Now().Sub(start)
		close(s.done)
	}
	released, err := r.release(ctx, t, s)
	if err != nil {
		// Halt (on_failure: halt, --fail-fast) before giving the slot back,
		// so that no waiting stage starts in between.
		r.failStage(ctx, t, s, err)
		unlock()
		settle()
		return
	}
	unlock()
	r.record(ctx, t, s) // records.go: the tag and release, once the first stage serves
	s.proceed = true
	if soak, why := r.soakLeft(s, released); soak > 0 {
		if err := r.step(ctx, t, s, "soak", func() (string, error) {
			if err := r.clk.Sleep(r.haltCtx, soak); err != nil {
				// Cut short by a halt elsewhere (blocked) or by the caller
				// (pending): not this stage's failure.
				if herr := r.haltErr(ctx); herr != nil {
					return "", herr
				}
				return "", err
			}
			return "waited " + formatDuration(soak) + why, nil
		}); err != nil {
			s.proceed = false
			r.failStage(ctx, t, s, fmt.Errorf("soak interrupted: %w", err))
			settle()
			return
		}
	}
	settle()
	r.prune(ctx, t, s)
}

// soakLeft is how long the stage must still soak: all of it after a
// publish; for a stage found up to date (an earlier run published and may
// have stopped before the soak ended) what is left of it since the version
// was created, or all of it when the server gave no creation time.
func (r *runner) soakLeft(s *stageRun, released bool) (time.Duration, string) {
	switch {
	case s.spec.Soak <= 0:
		return 0, ""
	case released:
		return s.spec.Soak, ""
	case s.rep.Status != StatusUpToDate:
		return 0, ""
	case s.liveSince == nil:
		return s.spec.Soak, " (the version's creation time is unknown: the whole soak)"
	}
	live := r.clk.Now().Sub(*s.liveSince)
	if live >= s.spec.Soak {
		return 0, ""
	}
	return s.spec.Soak - live, fmt.Sprintf(" (the rest of the %s soak: %s has been live %s)", formatDuration(s.spec.Soak), s.rep.VersionAfter, formatDuration(live))
}

// failStage records err as the stage's failure and applies the stage's
// on_failure policy. Work stopped by a halt elsewhere is blocked, work
// stopped by the caller cancelling ctx is pending: neither is this stage's
// failure.
func (r *runner) failStage(ctx context.Context, t *toolRun, s *stageRun, err error) {
	live := func() {
		if s.rep.VersionAfter != "" {
			s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("%s is live in %s, but the run stopped before the stage finished: a rerun finds it (nothing is published again) and finishes the stage's gates", s.rep.VersionAfter, s.spec.Name))
		}
	}
	if ctx.Err() != nil {
		s.rep.Status = StatusPending
		s.rep.Error = "cancelled: " + r.log.mask(err.Error())
		s.proceed = false
		live()
		return
	}
	if errors.Is(err, errHalted) && s.rep.Status != StatusFailed {
		// Stopped between steps by a halt elsewhere: not this stage's failure.
		s.rep.Status = StatusBlocked
		s.rep.Error = err.Error()
		s.proceed = false
		live()
		return
	}
	s.rep.Status = StatusFailed
	if s.rep.Error == "" {
		s.rep.Error = r.log.mask(err.Error())
	}
	s.proceed = s.spec.OnFailure == promote.OnFailureContinue
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

// release does ensure, the up-to-date check (idempotent resume), envvars,
// test, publish, verify and smoke. released is true when this stage
// published (false when it already served the commit).
func (r *runner) release(ctx context.Context, t *toolRun, s *stageRun) (released bool, err error) {
	tool, err := r.ensureTool(ctx, t, s)
	if err != nil {
		return false, err
	}
	var active []amigo.ToolVersion
	if err := r.step(ctx, t, s, "versions", func() (string, error) {
		vs, err := s.api.Versions(ctx, tool.ID)
		if err != nil {
			return "", fmt.Errorf("list versions: %w", err)
		}
		active = vs
		if n := newest(vs); n != nil {
			s.rep.VersionBefore = n.Version.String()
			return fmt.Sprintf("%d active, newest %s", len(vs), s.rep.VersionBefore), nil
		}
		return "none yet", nil
	}); err != nil {
		return false, err
	}
	if v := versionWithCommit(active, t.commit); v != nil {
		// Idempotent resume: this stage already serves the commit.
		if s.test != nil {
			s.test.cancel()
		}
		s.rep.Status = StatusUpToDate
		s.rep.VersionAfter = v.Version.String()
		s.rep.CommitHash = v.ToolCommitHash
		s.liveSince = v.CreatedAt
		r.log.step(levelInfo, t.name, s.spec.Name, "publish", fmt.Sprintf("up to date: %s already serves %s", s.rep.VersionAfter, short(t.commit)), 0)
		// An earlier run may have stopped after publishing (a failed
		// smoke, a halt, a cancel): the gates after the publish are not
		// known to have passed, so they run again (the soak only for what
		// is left of it, see runStage) before later stages may start.
		if s.spec.Smoke {
			if err := r.smoke(ctx, t, s, tool); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	if err := r.syncEnvvars(ctx, t, s, tool); err != nil {
		return false, err
	}
	if err := r.checkRequiredEnvvars(t, s, tool); err != nil {
		return false, err
	}
	if s.spec.Test && s.test == nil {
		// The analysis saw this stage serving the commit, so no test was
		// queued; it no longer does (a version was deprecated meanwhile):
		// test now, never publish untested.
		s.test = r.newTest(t, s)
		q := &testQueue{jobs: []*testJob{s.test}}
		q.run(ctx, r.haltCtx, r.policy, r.opts.TestDispatchSpacing)
	}
	if s.test != nil {
		if err := r.testGate(ctx, t, s); err != nil {
			return false, err
		}
	}
	if err := r.publish(ctx, t, s, tool, active); err != nil {
		return false, err
	}
	if err := r.verify(ctx, t, s, tool); err != nil {
		return true, err
	}
	if s.spec.Smoke {
		if err := r.smoke(ctx, t, s, tool); err != nil {
			return true, err
		}
	}
	s.rep.Status = StatusReleased
	return true, nil
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/promote"
)

// schedule runs every tool's stages concurrently: a stage of a tool starts
// when the stages it needs are done for that tool, holds one of its stage's
// concurrency slots while it works, and releases it before soaking. The
// test-tool calls of all tools are queued up front per server, most work
// left first (the early feed has queued some already), so the one-a-minute
// test queue never idles while publishes overlap.
func (r *runner) schedule(ctx context.Context, tools []*toolRun, tq *testQueues) {
	r.queueTests(tools, tq)
	var all sync.WaitGroup
	for _, t := range tools {
		all.Add(1)
		go func(t *toolRun) {
			defer all.Done()
			var wg sync.WaitGroup
			for _, s := range t.stages {
				wg.Add(1)
				go func(s *stageRun) {
					defer wg.Done()
					r.runToolStage(ctx, t, s)
				}(s)
			}
			wg.Wait()
			r.sweepStrays(ctx, t)
			r.finishTool(t)
		}(t)
	}
	all.Wait()
	for _, t := range tools {
		for _, s := range t.stages {
			if s.test != nil {
				s.test.cancel()
			}
		}
	}
	tq.wait()
}

// queueKey identifies one test queue: a server and the user it is paced
// for.
func (r *runner) queueKey(st promote.Stage) string {
	user := r.opts.Getenv(st.Credentials.UserIDEnv)
	if st.Credentials.TokenEnv != "" && r.opts.Getenv(st.Credentials.TokenEnv) != "" {
		user = "token:" + st.Credentials.TokenEnv
	}
	return st.BaseURL + "\x00" + user
}

// queueTests gives every test-gated stage its test job (in DAG order;
// within a stage, the tools with the most work left after that test first,
// see remainingWork): the one the early feed queued, now with what the
// analysis knows of the later stages, or a new one. A stage that already
// serves the commit is tested too: its version is adopted only once the
// test has passed on that commit in this run. Then the queues are closed:
// the feed's tests of tools that do not release after all are cancelled.
func (r *runner) queueTests(tools []*toolRun, tq *testQueues) {
	names := slices.Sorted(slices.Values(r.projects))
	for i, st := range r.order {
		if !st.Test {
			continue
		}
		for _, t := range sortTools(tools, func(t *toolRun) time.Duration { return remainingWork(r.order, r.est, t, st.Name) }) {
			s := t.byName[st.Name]
			if t.rep.Error != "" || slices.Contains(t.settings.SkipStages, st.Name) {
				continue
			}
			prio := remainingWork(r.order, r.est, t, st.Name)
			if j := tq.takeEarly(t.name, st.Name); j != nil {
				tq.reprioritize(st, j, prio)
				s.test = j
				continue
			}
			rank, _ := slices.BinarySearch(names, t.name)
			s.test = r.testJobFor(t, st, i, rank, len(names))
			s.test.prio = prio
			tq.queue(st).add(s.test)
		}
	}
	tq.closeAll()
}

// typicalPublish is what the scheduler expects a publish to take before
// it has seen one: the middle of the documented 1–5 minutes.
const typicalPublish = 3 * time.Minute

// remainingWork is how long tool t has still to go once its test in stage
// from has passed, by what is known before the run: the longest path of
// stages from there through the DAG, each stage its expected publish (est:
// the history's duration, else a typical publish) plus its soak, or
// nothing when the tool skips it or (as the analysis saw) already serves
// the commit there. The test queue takes the tools with the most work left
// first, so that the last tests belong to the tools that finish soonest
// after them (the order that minimises the critical path when the
// estimates hold).
func remainingWork(order []promote.Stage, est estimator, t *toolRun, from string) time.Duration {
	rem := map[string]time.Duration{}
	reach := map[string]bool{from: true}
	for _, st := range order {
		for _, n := range st.Needs {
			if reach[n] {
				reach[st.Name] = true
			}
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		st := order[i]
		if !reach[st.Name] {
			continue
		}
		var w time.Duration
		s := t.byName[st.Name]
		if !slices.Contains(t.settings.SkipStages, st.Name) && (s == nil || versionWithCommit(s.remote.versions, t.commit) == nil) {
			w = est.publish(t.name, st.Name) + st.Soak
		}
		var after time.Duration
		for _, c := range order[i+1:] {
			if reach[c.Name] && slices.Contains(c.Needs, st.Name) && rem[c.Name] > after {
				after = rem[c.Name]
			}
		}
		rem[st.Name] = w + after
	}
	return rem[from]
}

// runToolStage waits for the stage's needs, decides whether it may run,
// takes a concurrency slot and runs it.
func (r *runner) runToolStage(ctx context.Context, t *toolRun, s *stageRun) {
	defer r.logStageOutcome(t, s)
	for _, n := range s.spec.Needs {
		if dep := t.byName[n]; dep != nil {
			select {
			case <-dep.done:
			case <-r.haltCtx.Done():
			}
		}
	}
	if err := r.haltErr(ctx); err != nil {
		r.notStarted(s, err)
		return
	}
	for _, n := range s.spec.Needs {
		if dep := t.byName[n]; dep != nil && !dep.proceed {
			s.rep.Status = StatusBlocked
			s.rep.Error = fmt.Sprintf("needs %s, which is %s", n, dep.rep.Status)
			s.closeNotNeeded(false)
			return
		}
	}
	if t.rep.Error != "" {
		s.rep.Status = StatusFailed
		s.rep.Error = t.rep.Error
		if t.settingsErr != nil {
			s.rep.Error = "tool settings: " + t.rep.Error
		}
		s.closeNotNeeded(false)
		return
	}
	if slices.Contains(t.settings.SkipStages, s.spec.Name) {
		s.rep.Status = StatusSkipped
		s.closeNotNeeded(true)
		return
	}
	if s.test != nil {
		// Wait for the queued test before taking a slot: the test queue,
		// not this stage's concurrency, is what limits tests.
		select {
		case <-s.test.done:
		case <-r.haltCtx.Done():
		}
		if err := r.haltErr(ctx); err != nil {
			r.notStarted(s, err)
			return
		}
	}
	select {
	case r.sems[s.spec.Name] <- struct{}{}:
	case <-r.haltCtx.Done():
		r.notStarted(s, r.haltErr(ctx))
		return
	}
	var once sync.Once
	unlock := func() { once.Do(func() { <-r.sems[s.spec.Name] }) }
	defer unlock()
	r.runStage(ctx, t, s, unlock)
}

// closeNotNeeded settles a stage that will not run.
func (s *stageRun) closeNotNeeded(proceed bool) {
	if s.test != nil {
		s.test.cancel()
	}
	s.proceed = proceed
	close(s.done)
}

// notStarted settles a stage that could not start: blocked when the run was
// halted, pending when it was cancelled.
func (r *runner) notStarted(s *stageRun, err error) {
	if errors.Is(err, errHalted) {
		s.rep.Status = StatusBlocked
	} else {
		s.rep.Status = StatusPending
	}
	if err != nil {
		s.rep.Error = err.Error()
	}
	s.closeNotNeeded(false)
}

// logStageOutcome writes one live line when a tool's stage is settled.
func (r *runner) logStageOutcome(t *toolRun, s *stageRun) {
	msg := fmt.Sprintf("%s %s: %s", t.name, s.spec.Name, s.rep.Status)
	if s.rep.VersionAfter != "" {
		msg += " " + s.rep.VersionAfter
	}
	if s.rep.Duration > 0 {
		msg += " in " + formatDuration(s.rep.Duration)
	}
	if s.rep.Status == StatusFailed {
		r.log.emit(levelError, r.log.mask(msg+": "+s.rep.Error))
		return
	}
	r.log.Infof("%s", msg)
}

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
// left first, so the one-a-minute test queue never idles while publishes
// overlap.
func (r *runner) schedule(ctx context.Context, tools []*toolRun) {
	waitTests := r.queueTests(ctx, tools)
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
	waitTests()
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

// queueTests builds the test jobs of every test-gated stage (in DAG order;
// within a stage, the tools with the most work left after that test first,
// see remainingWork) and starts one queue per server. A stage that already
// serves the commit is tested too: its version is adopted only once the
// test has passed on that commit in this run. The returned func waits for
// the queues.
func (r *runner) queueTests(ctx context.Context, tools []*toolRun) func() {
	queues := map[string]*testQueue{}
	var keys []string
	for _, st := range r.order {
		if !st.Test {
			continue
		}
		ordered := sortTools(tools, func(t *toolRun) time.Duration { return remainingWork(r.order, r.est, t, st.Name) })
		for _, t := range ordered {
			s := t.byName[st.Name]
			if t.rep.Error != "" || slices.Contains(t.settings.SkipStages, st.Name) {
				continue
			}
			s.test = r.newTest(t, s)
			k := r.queueKey(st)
			if queues[k] == nil {
				queues[k] = &testQueue{}
				keys = append(keys, k)
			}
			queues[k].add(s.test)
		}
	}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func(q *testQueue) {
			defer wg.Done()
			q.run(ctx, r.haltCtx, r.policy, r.opts.TestDispatchSpacing)
		}(queues[k])
	}
	return wg.Wait
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
		s.rep.Error = "tool settings: " + t.rep.Error
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

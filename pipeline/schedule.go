package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/promote"
)

// schedule runs every tool's stages concurrently: a stage of a tool starts
// when the stages it needs are done for that tool, holds one of its stage's
// concurrency slots while it works, and releases it before soaking. The
// test-tool calls of all tools are queued up front per server, longest
// chain first, so the one-a-minute test queue never idles while publishes
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

// queueTests builds the test jobs of every test-gated stage (in DAG order,
// tools with the longest chain of stages first) and starts one queue per
// server. The returned func waits for the queues.
func (r *runner) queueTests(ctx context.Context, tools []*toolRun) func() {
	queues := map[string]*testQueue{}
	var keys []string
	chain := func(t *toolRun) int {
		n := 0
		for _, st := range r.order {
			if !slices.Contains(t.settings.SkipStages, st.Name) {
				n++
			}
		}
		return n
	}
	ordered := sortTools(tools, chain)
	for _, st := range r.order {
		if !st.Test {
			continue
		}
		for _, t := range ordered {
			s := t.byName[st.Name]
			if t.rep.Error != "" || slices.Contains(t.settings.SkipStages, st.Name) ||
				versionWithCommit(s.remote.versions, t.commit) != nil || len(t.resolved.MissingEnvvars(nil)) > 0 {
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

// newTest builds the test-tool job of tool t in stage s.
func (r *runner) newTest(t *toolRun, s *stageRun) *testJob {
	plain, secret := envvarMaps(t.settings.Envvars)
	req := amigo.TestToolRequest{Inputs: t.settings.TestInputs, CommitBranch: s.spec.Branch, ProjectPath: t.path,
		RequiredEnvvars: plain, RequiredSecretEnvvars: secret}
	return newTestJob(s.api, req)
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

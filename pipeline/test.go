package pipeline

import (
	"context"
	"fmt"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// testGate is the test step: it waits for the stage's queued test-tool
// call (see queueTests) and fails the stage when the call failed or any
// input failed. It runs before a publish, and before a version that already
// serves the commit is adopted: a version serves in a stage only if the
// test gate passed on its exact commit.
func (r *runner) testGate(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	if s.test == nil {
		// Not queued at the start: test now, never publish or adopt
		// untested.
		s.test = r.newTest(t, s)
		q := newTestQueue(s.api)
		q.add(s.test)
		q.close()
		q.run(ctx, r.haltCtx, r.policy, r.opts.TestDispatchSpacing)
	}
	resp, err := s.test.wait(r.haltCtx)
	if err != nil {
		return "", fmt.Errorf("test-tool on branch %s: %w", s.spec.Branch, err)
	}
	s.rep.Tests = r.testResults(resp.InvocationResults)
	r.count(func(st *Stats) { st.Tests++ })
	failed := 0
	var first *TestResult
	for i := range s.rep.Tests {
		if !s.rep.Tests[i].Succeeded {
			failed++
			if first == nil {
				first = &s.rep.Tests[i]
			}
		}
	}
	waited := ""
	if !s.test.started.IsZero() {
		waited = fmt.Sprintf(", sent at +%s, answered at +%s", formatDuration(s.test.started.Sub(r.log.start)), formatDuration(s.test.finished.Sub(r.log.start)))
	}
	if failed > 0 {
		return "", fmt.Errorf("test gate: %d of %d inputs failed; input %d: %s: %s", failed, len(s.rep.Tests), first.Input, first.ExceptionType, first.Message)
	}
	return fmt.Sprintf("%d inputs passed on branch %s%s", len(s.rep.Tests), s.spec.Branch, waited), nil
}

// planTest says what the test gate would test.
func (r *runner) planTest(t *toolRun, s *stageRun) (string, bool) {
	what := fmt.Sprintf("test %d inputs on branch %s", len(t.settings.TestInputs), s.spec.Branch)
	if s.adopting() {
		what += fmt.Sprintf(" before adopting %s, which already serves %s", s.rep.VersionAfter, changes.ShortSHA(t.commit))
	}
	return what, true
}

// newTest builds the test-tool job of tool t in stage s.
func (r *runner) newTest(t *toolRun, s *stageRun) *testJob {
	plain, secret := envvarMaps(t.settings.Envvars)
	j := newTestJob(s.api, testRequest(t, s.spec, plain, secret))
	j.tool, j.stage = t.name, s.spec.Name
	return j
}

// testRequest is the test-tool call of tool t in stage st: the branch tip
// and project, the tool's test inputs and its envvars.
func testRequest(t *toolRun, st promote.Stage, plain, secret map[string]string) amigo.TestToolRequest {
	return amigo.TestToolRequest{Inputs: t.settings.TestInputs, CommitBranch: st.Branch, ProjectPath: t.path,
		RequiredEnvvars: plain, RequiredSecretEnvvars: secret}
}

// testResults converts per-input results, masking any secret value a tool
// echoed.
func (r *runner) testResults(in []amigo.InvocationResult) []TestResult {
	out := make([]TestResult, len(in))
	for i, res := range in {
		trace := make([]string, len(res.ExceptionStackTrace))
		for j, ln := range res.ExceptionStackTrace {
			trace[j] = r.log.mask(ln)
		}
		out[i] = TestResult{Input: i + 1, Succeeded: res.Succeeded, Output: r.log.mask(res.Output), ExceptionType: res.ExceptionType,
			Message: r.log.mask(res.ExceptionMessage), StackTrace: trace, DurationMS: res.DurationMS}
	}
	return out
}

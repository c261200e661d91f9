package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// testGate waits for the stage's queued test-tool call and fails the stage
// when the call failed or any input failed.
func (r *runner) testGate(ctx context.Context, t *toolRun, s *stageRun) error {
	return r.step(ctx, t, s, "test", func() (string, error) {
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
	})
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

// bumpFor is the bump to publish with: major for a tool with no version.
func bumpFor(b amigo.BumpType, active []amigo.ToolVersion) amigo.BumpType {
	if len(active) == 0 || !b.Valid() {
		return amigo.BumpMajor
	}
	return b
}

// publish publishes with retries and reconciliation.
func (r *runner) publish(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool, active []amigo.ToolVersion) error {
	return r.step(ctx, t, s, "publish", func() (string, error) {
		bump := bumpFor(t.bump, active)
		s.rep.Bump = string(bump)
		req := publishRequest{
			ToolID: tool.ID,
			Body:   amigo.PublishRequest{ProjectPath: t.path, BumpType: bump, Repo: r.opts.Plan.Publish.Repo},
			Commit: t.commit,
			Pinned: func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) },
			Active: active,
			Server: serverKey(s.spec.BaseURL),
			Caps:   &r.caps,
		}
		out, err := publish(ctx, r.haltCtx, s.api, r.policy, req, func(msg string) {
			r.log.step(levelWarning, t.name, s.spec.Name, "publish", msg, 0)
		})
		s.rep.Attempts = out.Attempts
		r.count(func(st *Stats) {
			st.PublishAttempts += out.Attempts
			st.PublishRetries += out.Retries
			st.CapPrunes += len(out.CapPruned)
			st.Pruned += len(out.CapPruned)
			if out.Reconciled {
				st.Reconciled++
			}
		})
		s.rep.Pruned = append(s.rep.Pruned, out.CapPruned...)
		if err != nil {
			return "", fmt.Errorf("publish %s (%s): %w", t.name, bump, err)
		}
		s.rep.VersionAfter = out.Version
		how := fmt.Sprintf("published %s (%s)", out.Version, bump)
		if out.Reconciled {
			how = fmt.Sprintf("found %s serving %s after an unknown outcome or a conflict (published by an earlier attempt or run; not published again)", out.Version, short(t.commit))
			s.rep.Warnings = append(s.rep.Warnings, how)
		}
		if out.Attempts > 1 {
			how += fmt.Sprintf(", %d attempts", out.Attempts)
		}
		return how, nil
	})
}

// verify checks that the new version pins the tested commit.
func (r *runner) verify(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool) error {
	return r.step(ctx, t, s, "verify", func() (string, error) {
		vs, err := s.api.Versions(ctx, tool.ID)
		if err != nil {
			return "", fmt.Errorf("list versions to verify %s: %w", s.rep.VersionAfter, err)
		}
		for _, v := range vs {
			if v.Version.String() != s.rep.VersionAfter {
				continue
			}
			s.rep.CommitHash = v.ToolCommitHash
			if !sameCommit(v.ToolCommitHash, t.commit) {
				return "", fmt.Errorf("version %s was built from commit %s, not the tested commit %s: the branch %s moved during the release; test and release again",
					s.rep.VersionAfter, short(v.ToolCommitHash), short(t.commit), s.spec.Branch)
			}
			return fmt.Sprintf("%s pins %s", s.rep.VersionAfter, short(v.ToolCommitHash)), nil
		}
		return "", fmt.Errorf("version %s is not among the tool's active versions", s.rep.VersionAfter)
	})
}

// smoke invokes the new version with the test inputs.
func (r *runner) smoke(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool) error {
	return r.step(ctx, t, s, "smoke", func() (string, error) {
		var resp *amigo.InvokeResponse
		err := r.retryCall(ctx, idempotentRetry, func() error {
			var err error
			resp, err = s.api.Invoke(ctx, tool.ID, s.rep.VersionAfter, amigo.InvokeRequest{Inputs: t.settings.TestInputs})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("smoke invoke %s: %w", s.rep.VersionAfter, err)
		}
		s.rep.Smoke = r.testResults(resp.InvocationResults)
		for _, tr := range s.rep.Smoke {
			if !tr.Succeeded {
				return "", fmt.Errorf("smoke: input %d failed: %s: %s", tr.Input, tr.ExceptionType, tr.Message)
			}
		}
		return fmt.Sprintf("%d inputs passed", len(s.rep.Smoke)), nil
	})
}

// prune deprecates versions beyond the stage's active cap. Failures are
// warnings: the release itself is done.
func (r *runner) prune(ctx context.Context, t *toolRun, s *stageRun) {
	if s.rep.Status != StatusReleased && s.rep.Status != StatusUpToDate {
		return
	}
	tool := s.remote.tool
	if tool == nil {
		return
	}
	start := r.clk.Now()
	vs, err := s.api.Versions(ctx, tool.ID)
	if err != nil {
		s.rep.Warnings = append(s.rep.Warnings, r.log.mask(fmt.Sprintf("prune: list versions: %v", err)))
		return
	}
	sel := pruneSelection(vs, s.spec.ActiveCap, s.rep.VersionAfter, func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) })
	if len(sel) == 0 {
		return
	}
	var failed []string
	for _, v := range sel {
		if err := r.retryCall(ctx, idempotentRetry, func() error { return s.api.DeprecateVersions(ctx, tool.ID, exactConstraint(v)) }); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", v, shortErr(err)))
			continue
		}
		s.rep.Pruned = append(s.rep.Pruned, v)
		r.count(func(st *Stats) { st.Pruned++ })
	}
	sr := StepReport{Name: "prune", Status: StatusReleased, Duration: r.clk.Now().Sub(start)}
	what := "deprecated " + strings.Join(s.rep.Pruned, ", ")
	if len(failed) > 0 {
		w := r.log.mask("prune: could not deprecate " + strings.Join(failed, "; "))
		s.rep.Warnings = append(s.rep.Warnings, w)
		sr.Error = w
		what += "; " + w
	}
	s.rep.Steps = append(s.rep.Steps, sr)
	r.log.step(levelInfo, t.name, s.spec.Name, "prune", what, sr.Duration)
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

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
	test   *testJob
	// done is closed when dependents may look at proceed.
	done    chan struct{}
	proceed bool
}

// remoteState is a tool as one stage's server knows it.
type remoteState struct {
	known    bool // the analysis asked the server
	tool     *amigo.Tool
	versions []amigo.ToolVersion // non-deprecated
}

// errStageFailed is returned by a step whose failure is already recorded.
var errStageFailed = errors.New("stage failed")

// step runs one step of a stage, timing it, recording a StepReport and
// logging one line. fn returns a short description of what it did.
func (r *runner) step(ctx context.Context, t *toolRun, s *stageRun, name string, fn func() (string, error)) error {
	if err := r.haltErr(ctx); err != nil {
		return err
	}
	start := r.clk.Now()
	what, err := fn()
	d := r.clk.Now().Sub(start)
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
// in s.rep. It calls unlock (giving back the stage's concurrency slot) before
// soaking, closes s.done after the soak so that dependents can start, then
// prunes.
func (r *runner) runStage(ctx context.Context, t *toolRun, s *stageRun, unlock func()) {
	start := r.clk.Now()
	s.rep.StartedAt = start
	settle := func() {
		s.rep.Duration = r.clk.Now().Sub(start)
		close(s.done)
	}
	released, err := r.release(ctx, t, s)
	unlock()
	if err != nil {
		r.failStage(t, s, err)
		settle()
		return
	}
	s.proceed = true
	if released && s.spec.Soak > 0 {
		if err := r.step(ctx, t, s, "soak", func() (string, error) {
			return "waited " + formatDuration(s.spec.Soak), r.clk.Sleep(r.haltCtx, s.spec.Soak)
		}); err != nil {
			s.proceed = false
			r.failStage(t, s, fmt.Errorf("soak interrupted: %w", err))
			settle()
			return
		}
	}
	settle()
	r.prune(ctx, t, s)
}

// failStage records err as the stage's failure and applies the stage's
// on_failure policy.
func (r *runner) failStage(t *toolRun, s *stageRun, err error) {
	if errors.Is(err, errHalted) && s.rep.Status != StatusFailed {
		// Stopped between steps by a halt elsewhere: not this stage's failure.
		s.rep.Status = StatusBlocked
		s.rep.Error = err.Error()
		s.proceed = false
		return
	}
	s.rep.Status = StatusFailed
	if s.rep.Error == "" && !errors.Is(err, errStageFailed) {
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
		r.log.step(levelInfo, t.name, s.spec.Name, "publish", fmt.Sprintf("up to date: %s already serves %s", s.rep.VersionAfter, short(t.commit)), 0)
		return false, nil
	}
	if err := r.syncEnvvars(ctx, t, s, tool); err != nil {
		return false, err
	}
	if err := r.checkRequiredEnvvars(t, s, tool); err != nil {
		return false, err
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

// ensureTool finds the tool (from the analysis when it saw it) or creates
// it, and brings its description and tags up to date.
func (r *runner) ensureTool(ctx context.Context, t *toolRun, s *stageRun) (*amigo.Tool, error) {
	var tool *amigo.Tool
	err := r.step(ctx, t, s, "ensure", func() (string, error) {
		tool = s.remote.tool
		if tool == nil {
			found, err := s.api.FindTool(ctx, t.name)
			if err != nil {
				return "", fmt.Errorf("find tool %s: %w", t.name, err)
			}
			tool = found
		}
		if tool == nil {
			var id string
			err := r.retryCall(ctx, func(err error) bool {
				if !amigo.IsConflict(err) && !errors.Is(err, amigo.ErrUnknownOutcome) {
					return refusedBeforeWork(err)
				}
				// Created meanwhile, or by our own lost answer: look again
				// and create only if it is really not there.
				found, ferr := s.api.FindTool(ctx, t.name)
				if ferr == nil && found != nil {
					tool = found
					return false
				}
				// Not there: the 409 was an operation in progress, or the
				// lost create never happened. Try again.
				return true
			}, func() error {
				var err error
				id, err = s.api.CreateTool(ctx, amigo.CreateToolRequest{Name: t.name, Description: t.settings.Description, Tags: t.settings.Tags})
				return err
			})
			if tool != nil {
				return "found " + tool.ID + " (created concurrently or by a lost answer)", r.updateTool(ctx, t, s, tool)
			}
			if err != nil {
				return "", fmt.Errorf("create tool %s: %w", t.name, err)
			}
			tool = &amigo.Tool{ID: id, Name: t.name, Description: t.settings.Description, Tags: tagList(t.settings.Tags)}
			return "created " + id, nil
		}
		return "exists " + tool.ID, r.updateTool(ctx, t, s, tool)
	})
	if err == nil {
		s.remote.tool = tool
	}
	return tool, err
}

// updateTool sends modify-tool when the description or tags differ.
func (r *runner) updateTool(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool) error {
	req, changed := toolUpdate(tool, t.settings.Description, t.settings.Tags)
	if !changed {
		return nil
	}
	if err := r.retryCall(ctx, idempotentRetry, func() error { return s.api.ModifyTool(ctx, tool.ID, req) }); err != nil {
		return fmt.Errorf("update description/tags of %s: %w", t.name, err)
	}
	if req.Description != nil {
		tool.Description = *req.Description
	}
	if req.Tags != nil {
		tool.Tags = tagList(*req.Tags)
	}
	return nil
}

// toolUpdate returns the modify-tool request that brings tool to the wanted
// description and tags, and whether anything differs. Nil wanted tags leave
// the tool's tags alone.
func toolUpdate(tool *amigo.Tool, desc string, tags map[string]*string) (amigo.ModifyToolRequest, bool) {
	var req amigo.ModifyToolRequest
	changed := false
	if desc != "" && desc != tool.Description {
		d := desc
		req.Description = &d
		changed = true
	}
	if tags != nil && !maps.EqualFunc(tagMap(tool.Tags), tags, func(a, b *string) bool {
		return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
	}) {
		tg := maps.Clone(tags)
		req.Tags = &tg
		changed = true
	}
	return req, changed
}

func tagMap(tags []amigo.Tag) map[string]*string {
	m := make(map[string]*string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func tagList(m map[string]*string) []amigo.Tag {
	out := make([]amigo.Tag, 0, len(m))
	for k, v := range m {
		out = append(out, amigo.Tag{Key: k, Value: v})
	}
	return out
}

// syncEnvvars inserts missing and updates existing variables.
func (r *runner) syncEnvvars(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool) error {
	if len(t.settings.Envvars) == 0 {
		return nil
	}
	return r.step(ctx, t, s, "envvars", func() (string, error) {
		req, warnings := envvarPlan(tool, t.settings.Envvars)
		s.rep.Warnings = append(s.rep.Warnings, warnings...)
		err := r.retryCall(ctx, func(err error) bool {
			if !amigo.IsConflict(err) && !errors.Is(err, amigo.ErrUnknownOutcome) {
				return refusedBeforeWork(err)
			}
			// An insert may have landed (our lost answer, or a concurrent
			// run): read the tool again and resend what is still needed.
			found, ferr := s.api.FindTool(ctx, t.name)
			if ferr != nil || found == nil {
				return false
			}
			*tool = *found
			req, _ = envvarPlan(tool, t.settings.Envvars)
			return true
		}, func() error { return s.api.ModifyEnvvars(ctx, tool.ID, req) })
		if err != nil {
			return "", fmt.Errorf("sync envvars: %w", err)
		}
		for _, in := range req.Inserts {
			if in.IsSecret {
				tool.SecretEnvvars = append(tool.SecretEnvvars, in.Name)
			} else {
				tool.Envvars = append(tool.Envvars, in.Name)
			}
		}
		return fmt.Sprintf("%d inserted, %d updated (%s)", len(req.Inserts), len(req.Updates), envvarNames(t.settings.Envvars)), nil
	})
}

// checkRequiredEnvvars refuses, before any test or publish, a tool whose
// runtime contract ([tool.amigo] required envvars) names variables that are
// neither configured nor (for a stage without a test gate, which needs the
// values) already on the tool.
func (r *runner) checkRequiredEnvvars(t *toolRun, s *stageRun, tool *amigo.Tool) error {
	onTool := append(slices.Clone(tool.Envvars), tool.SecretEnvvars...)
	if s.spec.Test {
		onTool = nil
	}
	missing := t.resolved.MissingEnvvars(onTool)
	if len(missing) == 0 {
		return nil
	}
	err := fmt.Errorf("%s requires envvars %s ([tool.amigo] in %s/pyproject.toml) that are not configured: add them under tools.%s.envvars in %s or [tool.amigo-release] envvars, secrets with from_env",
		t.name, strings.Join(missing, ", "), t.path, t.name, r.opts.Plan.File)
	r.log.step(levelError, t.name, s.spec.Name, "envvars", "refused: "+err.Error(), 0)
	s.rep.Steps = append(s.rep.Steps, StepReport{Name: "envvars", Status: StatusFailed, Error: err.Error()})
	return err
}

// envvarNames lists names, marking secrets; never values.
func envvarNames(vars []envvar) string {
	names := make([]string, len(vars))
	for i, e := range vars {
		names[i] = e.Name
		if e.Secret {
			names[i] += " (secret)"
		}
	}
	return strings.Join(names, ", ")
}

// testGate waits for the stage's queued test-tool call and fails the stage
// when the call failed or any input failed.
func (r *runner) testGate(ctx context.Context, t *toolRun, s *stageRun) error {
	return r.step(ctx, t, s, "test", func() (string, error) {
		resp, err := s.test.wait(r.haltCtx)
		if err != nil {
			return "", fmt.Errorf("test-tool on branch %s: %w", s.spec.Branch, err)
		}
		s.rep.Tests = r.testResults(resp.InvocationResults)
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
			waited = fmt.Sprintf(", queued at +%s, done at +%s", formatDuration(s.test.started.Sub(r.log.start)), formatDuration(s.test.finished.Sub(r.log.start)))
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
		req := publishRequest{
			ToolID: tool.ID,
			Body:   amigo.PublishRequest{ProjectPath: t.path, BumpType: bump, Repo: r.opts.Plan.Publish.Repo},
			Commit: t.commit,
			Pinned: func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) },
		}
		out, err := publish(ctx, r.haltCtx, s.api, r.policy, req, func(msg string) {
			r.log.step(levelWarning, t.name, s.spec.Name, "publish", msg, 0)
		})
		s.rep.Attempts = out.Attempts
		s.rep.Pruned = append(s.rep.Pruned, out.CapPruned...)
		if err != nil {
			return "", fmt.Errorf("publish %s (%s): %w", t.name, bump, err)
		}
		s.rep.VersionAfter = out.Version
		how := fmt.Sprintf("published %s (%s)", out.Version, bump)
		if out.Reconciled {
			how = fmt.Sprintf("found %s serving %s after an unknown outcome (not published again)", out.Version, short(t.commit))
			s.rep.Warnings = append(s.rep.Warnings, how)
		}
		if out.Attempts > 1 || out.Retries > 0 {
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
		s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("prune: list versions: %v", err))
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
	}
	sr := StepReport{Name: "prune", Status: StatusReleased, Duration: r.clk.Now().Sub(start)}
	what := "deprecated " + strings.Join(s.rep.Pruned, ", ")
	if len(failed) > 0 {
		w := "prune: could not deprecate " + strings.Join(failed, "; ")
		s.rep.Warnings = append(s.rep.Warnings, w)
		sr.Error = w
		what += "; " + w
	}
	s.rep.Steps = append(s.rep.Steps, sr)
	r.log.step(levelInfo, t.name, s.spec.Name, "prune", what, sr.Duration)
}

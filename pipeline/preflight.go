package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/amigo-release/amigo-release/promote"
)

// Problem is one thing that keeps a run from starting.
type Problem struct {
	// Where names what it concerns ("stage eu", "tool weather", "branch
	// main (stages us, eu)"); "" when Err says it (a plan error names its
	// file and line).
	Where string
	Err   error
}

func (p Problem) Error() string {
	if p.Where == "" {
		return p.Err.Error()
	}
	return p.Where + ": " + p.Err.Error()
}

// Unwrap returns the problem's error.
func (p Problem) Unwrap() error { return p.Err }

// StartError is the error of a run that did not start: every problem the
// checks before the first mutating call found, one per problem (DESIGN §7,
// "All or nothing at the start"). Nothing was created or published.
type StartError struct {
	Problems []Problem
}

func (e *StartError) Error() string {
	const nothing = "nothing was created or published"
	if len(e.Problems) == 1 {
		return fmt.Sprintf("the release cannot start (%s): %s", nothing, e.Problems[0].Error())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the release cannot start: %d problems (%s):", len(e.Problems), nothing)
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(p.Error(), "\n", "\n    "))
	}
	return b.String()
}

// Unwrap exposes every problem to errors.Is and errors.As.
func (e *StartError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Err
	}
	return out
}

// startError returns the problems as a *StartError, or nil.
func startError(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &StartError{Problems: problems}
}

// problemsOf splits an error of several problems (promote.Errors) into one
// Problem each.
func problemsOf(where string, err error) []Problem {
	if errs, ok := errors.AsType[promote.Errors](err); ok {
		out := make([]Problem, len(errs))
		for i, e := range errs {
			out[i] = Problem{Where: where, Err: e}
		}
		return out
	}
	return []Problem{{Where: where, Err: err}}
}

// The checks before the first mutating call, in the order a run makes them
// (Run's table of contents, run.go): checkStart (credential variables and
// branch tips, no API call), connect (every stage's client, signed in),
// the analysis (read-only calls), then checkTools (every tool's settings
// and runtime contract in every stage). Each collects every problem it
// finds; any problem stops the run before anything is created.

// checkStart checks what needs no API call: every stage's credential
// variables are set and sendable, and the commit being released is the tip
// of every stage's branch (not for plans: a pull request's preview is never
// the tip).
func (r *runner) checkStart(ctx context.Context, rep *Report) error {
	var problems []Problem
	if r.opts.Mode != ModeOffline {
		if err := r.opts.Plan.CheckCredentials(r.opts.Getenv); err != nil {
			problems = append(problems, problemsOf("", err)...)
		}
	}
	if !r.opts.readOnly() || r.opts.DryRun {
		ps, warnings, notes := r.tips.check(ctx, r.head, r.order)
		problems = append(problems, ps...)
		rep.Warnings = append(rep.Warnings, warnings...)
		for _, n := range notes {
			r.log.Infof("%s", n)
		}
	}
	return startError(problems)
}

// connect builds each stage's API (not offline) and signs in to every
// stage at once, so that every stage whose credentials or organization do
// not work is named, each once.
func (r *runner) connect(ctx context.Context) error {
	if r.opts.Mode == ModeOffline {
		return nil
	}
	var problems []Problem
	for _, st := range r.order {
		api, err := r.opts.Clients(ctx, st)
		if err != nil {
			problems = append(problems, Problem{Where: "stage " + st.Name, Err: err})
			continue
		}
		if r.opts.readOnly() {
			api = readOnlyAPI{api}
		}
		r.apis[st.Name] = api
		r.sems[st.Name] = make(chan struct{}, st.Concurrency)
	}
	if len(problems) > 0 {
		return startError(problems)
	}
	errs := make([]error, len(r.order))
	var wg sync.WaitGroup
	for i, st := range r.order {
		wg.Go(func() { errs[i] = r.read(ctx, func() error { return r.apis[st.Name].SignIn(ctx) }) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			st := r.order[i]
			problems = append(problems, Problem{Where: fmt.Sprintf("stage %s (%s, organization %s): sign in", st.Name, st.BaseURL, st.Organization), Err: err})
		}
	}
	return startError(problems)
}

// checkTools checks every tool that would release: its settings resolved
// (project metadata, every from_env variable set), and, in every stage it
// releases to, the runtime contract of its project covered by configured
// envvars (or, in a stage without a test gate, by the tool's own). In plan
// mode the problems are the tools' (the preview shows them); a run or a
// dry run does not start.
func (r *runner) checkTools(tools []*toolRun) error {
	if r.opts.readOnly() && !r.opts.DryRun {
		return nil
	}
	var problems []Problem
	for _, t := range tools {
		where := "tool " + t.name
		if t.settingsErr != nil {
			problems = append(problems, problemsOf(where, t.settingsErr)...)
			continue
		}
		for _, s := range t.stages {
			if err := r.missingEnvvars(t, s); err != nil {
				problems = append(problems, Problem{Where: where, Err: err})
			}
		}
	}
	return startError(problems)
}

// missingEnvvars is the error of a stage where the API would refuse the
// tool's publish (or test) because its runtime contract ([tool.amigo]
// required envvars) names variables that are neither configured nor, in a
// stage without a test gate (which needs the values), already on the tool.
func (r *runner) missingEnvvars(t *toolRun, s *stageRun) error {
	if slices.Contains(t.settings.SkipStages, s.spec.Name) {
		return nil
	}
	var onTool []string
	if !s.spec.Test && s.remote.tool != nil {
		onTool = append(slices.Clone(s.remote.tool.Envvars), s.remote.tool.SecretEnvvars...)
	}
	missing := t.resolved.MissingEnvvars(onTool)
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("in stage %s it requires envvars %s ([tool.amigo] in %s/pyproject.toml) that are not configured: add them under tools.%s.envvars in %s or [tool.amigo-release] envvars, secrets with from_env",
		s.spec.Name, strings.Join(missing, ", "), t.path, t.name, r.opts.Plan.File)
}

// notStarted marks every stage of the tools as pending after a start
// check failed, so the report lists what would have released.
func (r *runner) notStartedTools(tools []*toolRun, why string) {
	for _, t := range tools {
		for _, s := range t.stages {
			s.rep.Status = StatusPending
			s.rep.Error = why
		}
		r.finishTool(t)
	}
}

package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// RollbackOptions configure Rollback.
type RollbackOptions struct {
	Plan *promote.Plan
	// Repo and Head locate the tool's project (its test inputs) and order
	// commits; Head is a resolved commit.
	Repo *changes.Repo
	Head string
	Tool string
	// To is the target: a version of the first stage ("1.4.2", "v1.4.2",
	// "==1.4.2") or a commit (a SHA, a branch, a tag) as Repo resolves it.
	To string
	// DryRun checks and reports what would be deprecated, and changes
	// nothing (no deprecation, no smoke invoke).
	DryRun bool
	// APIs are the stages' servers, by stage name.
	APIs map[string]API
	// Clock paces the retries of a deprecation refused with 409 (another
	// operation on the tool in progress); default clock.Real{}.
	Clock clock.Clock
	// Mask hides secret values in smoke outputs; nil masks nothing.
	Mask func(string) string
	// Log, when set, receives one line per action as it happens.
	Log func(format string, args ...any)
}

// Refusal is why a rollback was refused before any change: the target does
// not serve in a stage (deprecated versions cannot come back), a version to
// deprecate is pinned, or the target is unknown. The CLI exits 2.
type Refusal struct {
	// Stage is the stage that refuses, or "" for the target itself.
	Stage string
	Msg   string
	Fix   string
}

func (r *Refusal) Error() string {
	s := r.Msg
	if r.Stage != "" {
		s = "stage " + r.Stage + ": " + s
	}
	if r.Fix != "" {
		s += "; fix: " + r.Fix
	}
	return "rollback refused, nothing was changed: " + s
}

// RollbackReport is what a rollback did (or, dry, would do), per stage in
// the order it works: the last stage first.
type RollbackReport struct {
	Tool   string `json:"tool"`
	Target string `json:"target"`
	// Commit is the target commit; Version its first stage's number.
	Commit  string          `json:"commit"`
	Version string          `json:"version,omitempty"`
	DryRun  bool            `json:"dry_run,omitempty"`
	Stages  []RollbackStage `json:"stages"`
	// OK is set when every deprecation was done and every smoke passed.
	OK bool `json:"ok"`
	// Error is set when the rollback stopped part way.
	Error string `json:"error,omitempty"`
}

// RollbackStage is one stage of a rollback.
type RollbackStage struct {
	Stage string `json:"stage"`
	// Before is what served before; Target is the stage's own number of
	// the target commit ("" where the stage has nothing to roll back).
	Before string `json:"before,omitempty"`
	Target string `json:"target,omitempty"`
	// Deprecate lists the versions newer than Target (newest first);
	// Deprecated those actually deprecated.
	Deprecate  []string `json:"deprecate,omitempty"`
	Deprecated []string `json:"deprecated,omitempty"`
	// After is the version serving when the rollback ended.
	After string `json:"after,omitempty"`
	// Note explains a stage with nothing to do.
	Note string `json:"note,omitempty"`
	// Smoke are the smoke invocation's results, where the stage has a
	// smoke gate.
	Smoke   []pipeline.TestResult `json:"smoke,omitempty"`
	SmokeOK *bool                 `json:"smoke_ok,omitempty"`
	Error   string                `json:"error,omitempty"`
}

// stagePlan is what the checks found in one stage.
type stagePlan struct {
	spec   promote.Stage
	api    API
	toolID string
	target *amigo.ToolVersion
	newer  []amigo.ToolVersion // newest first
	rep    *RollbackStage
}

var versionArg = regexp.MustCompile(`^(?:==|v|V)?(\d+\.\d+\.\d+)$`)

// Rollback deprecates, in every stage, the versions newer than the target
// (each stage's own numbers, found by commit), the last stage first, then
// invokes the version now serving with the tool's test inputs where the
// stage has a smoke gate. Everything that can refuse is checked first: a
// *Refusal means nothing was changed. The report is returned with a nil
// error also when a deprecation or a smoke failed (OK false, see Error).
func Rollback(ctx context.Context, o RollbackOptions) (*RollbackReport, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Mask == nil {
		o.Mask = func(s string) string { return s }
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	order := o.Plan.Order()
	rep := &RollbackReport{Tool: o.Tool, Target: o.To, DryRun: o.DryRun}
	all, err := readAll(ctx, order, o.APIs, o.Tool)
	if err != nil {
		return rep, err
	}
	if err := o.resolveTarget(rep, order[0], all[order[0].Name]); err != nil {
		return rep, err
	}
	settings, err := o.toolSettings()
	if err != nil {
		return rep, err
	}
	plans, err := o.check(rep, order, all, settings)
	if err != nil {
		return rep, err
	}
	for _, p := range plans {
		rep.Stages = append(rep.Stages, *p.rep)
	}
	if o.DryRun {
		rep.OK = true
		return rep, nil
	}
	failed := ""
	for i, p := range plans {
		if err := o.deprecate(ctx, p); err != nil {
			p.rep.Error = o.Mask(err.Error())
			failed = fmt.Sprintf("stage %s: %v", p.spec.Name, err)
			// Stop: the stages before this one (in the plan's order) keep
			// what they serve, so no stage serves something a stage it
			// needs does not.
			for _, rest := range plans[i+1:] {
				rest.rep.Note = "not rolled back: the rollback stopped at " + p.spec.Name
				rest.rep.Deprecate = nil
				rest.rep.After = rest.rep.Before
			}
			break
		}
	}
	if failed == "" {
		for _, p := range plans {
			if p.spec.Smoke && p.target != nil {
				o.smoke(ctx, p, settings.TestInputs)
				if p.rep.SmokeOK != nil && !*p.rep.SmokeOK && failed == "" {
					failed = fmt.Sprintf("stage %s: the smoke test of %s failed", p.spec.Name, p.rep.After)
				}
			}
		}
	}
	rep.Stages = rep.Stages[:0]
	for _, p := range plans {
		rep.Stages = append(rep.Stages, *p.rep)
	}
	rep.OK = failed == ""
	rep.Error = o.Mask(failed)
	return rep, nil
}

// readAll reads the tool and every version of it in every stage.
func readAll(ctx context.Context, order []promote.Stage, apis map[string]API, tool string) (map[string]stageVersions, error) {
	readers := map[string]Reader{}
	for _, st := range order {
		if apis[st.Name] == nil {
			return nil, fmt.Errorf("stage %s: no client", st.Name)
		}
		readers[st.Name] = apis[st.Name]
	}
	data, err := readStages(ctx, order, readers, []string{tool})
	if err != nil {
		return nil, err
	}
	out := map[string]stageVersions{}
	for _, st := range order {
		td, ok := data[st.Name][tool]
		out[st.Name] = stageVersions{exists: ok, toolID: td.id, versions: td.versions}
	}
	return out, nil
}

type stageVersions struct {
	exists   bool
	toolID   string
	versions []amigo.ToolVersion
}

// resolveTarget turns --to into the target commit: a version is looked up
// in the first stage (it must still serve there), anything else is a
// commit.
func (o *RollbackOptions) resolveTarget(rep *RollbackReport, first promote.Stage, sv stageVersions) error {
	to := strings.TrimSpace(o.To)
	if to == "" {
		return &Refusal{Msg: "no target", Fix: "pass --to with a version of the first stage (" + first.Name + ") or a commit"}
	}
	if m := versionArg.FindStringSubmatch(to); m != nil {
		for _, v := range sv.versions {
			if v.Version.String() != m[1] {
				continue
			}
			if v.Deprecated {
				return &Refusal{Stage: first.Name, Msg: fmt.Sprintf("%s %s is deprecated there: deprecated versions cannot come back", o.Tool, m[1]),
					Fix: "roll back to a version that still serves in " + first.Name + " (amigo-release status shows them)"}
			}
			rep.Commit, rep.Version = v.ToolCommitHash, m[1]
			return nil
		}
		if !sv.exists {
			return &Refusal{Stage: first.Name, Msg: fmt.Sprintf("there is no tool %s", o.Tool), Fix: "check the tool name (amigo-release status lists them)"}
		}
		return &Refusal{Stage: first.Name, Msg: fmt.Sprintf("%s has no version %s", o.Tool, m[1]),
			Fix: "give a version of the first stage (" + first.Name + "; other regions may number the same commit differently) or a commit"}
	}
	sha, err := o.Repo.Resolve(to)
	if err == nil && sha != "" {
		rep.Commit = sha
		return nil
	}
	// A commit that is not in the local history may still be the prefix
	// of a released commit.
	if regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`).MatchString(to) {
		for _, v := range sv.versions {
			if sameCommit(strings.ToLower(to), v.ToolCommitHash) {
				rep.Commit = v.ToolCommitHash
				return nil
			}
		}
	}
	return &Refusal{Msg: fmt.Sprintf("--to %q is neither a version of %s in %s nor a commit of the repository (%v)", to, o.Tool, first.Name, err),
		Fix: "give X.Y.Z (the first stage's number) or a commit SHA"}
}

func sameCommit(a, b string) bool { return pipeline.SameCommit(a, b) }

// toolSettings reads the tool's settings at head (its test inputs for the
// smoke test).
func (o *RollbackOptions) toolSettings() (promote.ToolSettings, error) {
	copts, err := pipeline.ChangesOptions(o.Plan.Discovery)
	if err != nil {
		return promote.ToolSettings{}, fmt.Errorf("%s: %w", o.Plan.File, err)
	}
	projects, problems, err := changes.Discover(o.Repo, o.Head, copts)
	if err != nil {
		return promote.ToolSettings{}, fmt.Errorf("discover projects: %w", err)
	}
	for _, p := range projects {
		if p.Name == o.Tool {
			return resolveTool(o.Plan, o.Repo, o.Head, p.Name, p.Path)
		}
	}
	for i := range problems {
		if problems[i].Name == o.Tool {
			// Its project is there but is no tool now (another project has
			// its name): its settings are unknown.
			return promote.ToolSettings{}, fmt.Errorf("the project of %s cannot be read as a tool at %s: %w", o.Tool, short(o.Head), &problems[i])
		}
	}
	// A tool removed from the repository can still be rolled back: its
	// plan settings (or the default input) make the smoke test.
	return o.Plan.Resolve(o.Tool, promote.ProjectMeta{}, func(string) string { return "<unset>" })
}

// check finds, per stage, the target's own number and the versions newer
// than it, and refuses (before any change) a stage where the target no
// longer serves or a newer version is pinned. The result is in the order
// the rollback works: the last stage first.
func (o *RollbackOptions) check(rep *RollbackReport, order []promote.Stage, all map[string]stageVersions, settings promote.ToolSettings) ([]*stagePlan, error) {
	var plans []*stagePlan
	var refusals []*Refusal
	for i := len(order) - 1; i >= 0; i-- {
		st := order[i]
		sv := all[st.Name]
		p := &stagePlan{spec: st, api: o.APIs[st.Name], toolID: sv.toolID, rep: &RollbackStage{Stage: st.Name}}
		plans = append(plans, p)
		if n := newestActive(sv.versions); n != nil {
			p.rep.Before = n.Version.String()
		}
		p.rep.After = p.rep.Before
		switch {
		case settings.Skips(st.Name):
			p.rep.Note = "the tool skips this stage (skip_stages)"
			continue
		case !sv.exists:
			p.rep.Note = "the tool does not exist here"
			continue
		}
		var target, deprecated *amigo.ToolVersion
		for j := range sv.versions {
			v := &sv.versions[j]
			if !sameCommit(v.ToolCommitHash, rep.Commit) {
				continue
			}
			if v.Deprecated {
				deprecated = v
			} else if target == nil || target.Version.Less(v.Version) {
				target = v
			}
		}
		if target == nil {
			if r := o.noTarget(st, sv, deprecated, rep.Commit); r != nil {
				refusals = append(refusals, r)
			} else {
				p.rep.Note = "serves nothing newer than the target commit"
			}
			continue
		}
		p.target = target
		p.rep.Target = target.Version.String()
		for _, v := range activeNewestFirst(sv.versions) {
			if !target.Version.Less(v.Version) {
				continue
			}
			if st.Pinned(o.Tool, v.Version) {
				refusals = append(refusals, &Refusal{Stage: st.Name, Msg: fmt.Sprintf("%s %s is pinned (keep) and newer than the target %s: a pinned version is never deprecated, and it would go on serving",
					o.Tool, v.Version, target.Version), Fix: fmt.Sprintf("remove %s from stages[%s].keep.%s, or roll back to %s or later", v.Version, st.Name, o.Tool, v.Version)})
				continue
			}
			p.newer = append(p.newer, v)
			p.rep.Deprecate = append(p.rep.Deprecate, v.Version.String())
		}
		p.rep.After = target.Version.String()
		if len(p.newer) == 0 {
			p.rep.Note = "already serves the target"
		}
	}
	if len(refusals) > 0 {
		// The first stage in the plan's order is the one to fix first;
		// the others are named too.
		r := refusals[len(refusals)-1]
		if len(refusals) > 1 {
			var others []string
			for _, x := range refusals[:len(refusals)-1] {
				others = append(others, x.Stage)
			}
			slices.Reverse(others)
			r.Msg += fmt.Sprintf(" (also refused in %s)", strings.Join(others, ", "))
		}
		return plans, r
	}
	return plans, nil
}

// noTarget decides a stage where no active version has the target commit:
// fine when every active version is older than the target (the stage never
// got anything newer), else a refusal that says why.
func (o *RollbackOptions) noTarget(st promote.Stage, sv stageVersions, deprecated *amigo.ToolVersion, commit string) *Refusal {
	active := activeNewestFirst(sv.versions)
	for _, v := range active {
		older, err := o.Repo.IsAncestor(v.ToolCommitHash, commit)
		if err == nil && older && !sameCommit(v.ToolCommitHash, commit) {
			continue
		}
		what := fmt.Sprintf("%s %s (commit %s) serves there and is not older than the target commit %s", o.Tool, v.Version, short(v.ToolCommitHash), short(commit))
		if deprecated != nil {
			return &Refusal{Stage: st.Name, Msg: fmt.Sprintf("the target commit %s was %s there, which is deprecated: deprecated versions cannot come back (%s)", short(commit), deprecated.Version, what),
				Fix: "roll back to a commit that still serves in " + st.Name + " (amigo-release status shows them), or release the fix forward"}
		}
		return &Refusal{Stage: st.Name, Msg: fmt.Sprintf("the target commit %s never served there (%s)", short(commit), what),
			Fix: "roll back to a commit every stage serves (amigo-release status shows them)"}
	}
	return nil
}

// deprecate deprecates the stage's newer versions, newest first, each with
// an exact constraint, retrying a 409 (another operation in progress).
func (o *RollbackOptions) deprecate(ctx context.Context, p *stagePlan) error {
	for _, v := range p.newer {
		c := "==" + v.Version.String()
		if err := o.retry409(ctx, func() error { return p.api.DeprecateVersions(ctx, p.toolID, c) }); err != nil {
			return fmt.Errorf("deprecate %s %s: %w", o.Tool, v.Version, err)
		}
		p.rep.Deprecated = append(p.rep.Deprecated, v.Version.String())
		o.Log("%s: deprecated %s %s", p.spec.Name, o.Tool, v.Version)
	}
	if p.target == nil {
		return nil
	}
	// What serves now, as the server says.
	vs, err := p.api.AllVersions(ctx, p.toolID)
	if err != nil {
		return fmt.Errorf("list versions after the rollback: %w", err)
	}
	if n := newestActive(vs); n != nil {
		p.rep.After = n.Version.String()
		if !sameCommit(n.ToolCommitHash, p.target.ToolCommitHash) {
			return fmt.Errorf("%s now serves %s (commit %s), not the target %s: a version was published meanwhile", p.spec.Name, n.Version, short(n.ToolCommitHash), p.target.Version)
		}
	}
	return nil
}

// retry409 retries fn while the server answers 409 (an operation on the
// tool in progress), waiting 10 s, 20 s, … up to 2 min, for at most 10 min.
func (o *RollbackOptions) retry409(ctx context.Context, fn func() error) error {
	wait, spent := 10*time.Second, time.Duration(0)
	for {
		err := fn()
		var ae *amigo.APIError
		if err == nil || !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict || spent >= 10*time.Minute {
			return err
		}
		if serr := o.Clock.Sleep(ctx, wait); serr != nil {
			return err
		}
		spent += wait
		wait = min(2*wait, 2*time.Minute)
	}
}

// smoke invokes the version now serving with the test inputs.
func (o *RollbackOptions) smoke(ctx context.Context, p *stagePlan, inputs []amigo.Input) {
	ok := false
	p.rep.SmokeOK = &ok
	resp, err := p.api.Invoke(ctx, p.toolID, p.rep.After, amigo.InvokeRequest{Inputs: inputs})
	if err != nil {
		p.rep.Error = o.Mask(fmt.Sprintf("smoke invoke %s: %v", p.rep.After, err))
		return
	}
	ok = true
	for i, r := range resp.InvocationResults {
		trace := make([]string, len(r.ExceptionStackTrace))
		for j, ln := range r.ExceptionStackTrace {
			trace[j] = o.Mask(ln)
		}
		p.rep.Smoke = append(p.rep.Smoke, pipeline.TestResult{Input: i + 1, Succeeded: r.Succeeded, Output: o.Mask(r.Output),
			ExceptionType: r.ExceptionType, Message: o.Mask(r.ExceptionMessage), StackTrace: trace, DurationMS: r.DurationMS})
		if !r.Succeeded {
			ok = false
		}
	}
	if !ok {
		p.rep.Error = "smoke: an input failed"
	}
	o.Log("%s: smoke test of %s %s: %s", p.spec.Name, o.Tool, p.rep.After, map[bool]string{true: "passed", false: "failed"}[ok])
}

package cmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/platform"
	"github.com/amigo-release/amigo-release/promote"
)

func init() {
	register(command{name: "validate", order: 25, summary: "check the plan and every project's metadata, with no API call (exit 0 or 2)", run: runValidate})
}

const validateHelp = `Checks the release plan and the release metadata of every tool project, as the files
are now in the work tree (edits not yet committed count), without any API call and
without credentials: the plan's keys, types, stages, needs and regions; every
project's pyproject.toml ([project].name, [tool.amigo-release], [tool.amigo]) and
what it gives once merged with the plan (tag count, secrets with literal values,
unknown stages in skip_stages); tool names and clashes (a project that cannot be a
tool is a problem here, though a run that does not release it only warns: exclude
it if it is not a tool); discovery roots and globs that match nothing; and plan
entries for tools that no project has (a warning). Projects are found as run finds
them (discovery roots, include, exclude, names), skipping what .gitignore ignores.

Every problem is listed, one per line as FILE:LINE:COLUMN: KEY: problem; fix: ...
(the line where it is known), or as annotations on the files inside GitHub Actions
and Azure Pipelines. Exit 0 when everything is valid (warnings allowed unless
--strict), 2 when something is not.

With --check-env it also checks the release job's environment: every stage's
credential variables and every from_env variable must be set (values are never
printed).`

// ValidateOptions are the flags of `amigo-release validate`.
type ValidateOptions struct {
	Config   string
	Repo     string
	CheckEnv bool
	Strict   bool
	Verbose  bool
}

// problem is one finding of validate.
type problem struct {
	file, path, msg, fix string
	line, col            int
	warning              bool
}

func (p problem) String() string {
	var b strings.Builder
	b.WriteString(promote.Location(p.file, p.line, p.col))
	b.WriteString(": ")
	if p.warning {
		b.WriteString("warning: ")
	}
	if p.path != "" {
		b.WriteString(p.path + ": ")
	}
	b.WriteString(p.msg)
	if p.fix != "" {
		b.WriteString("; fix: " + p.fix)
	}
	return b.String()
}

func runValidate(_ context.Context, env *Env, args []string) error {
	var o ValidateOptions
	f := newFlagSet("validate", "[flags]", validateHelp, env)
	f.String(&o.Config, "config", "AMIGO_CONFIG", "config", promote.DefaultPath, "FILE", "release plan file, relative to --repo")
	f.String(&o.Repo, "repo", "AMIGO_REPO", "working-directory", ".", "DIR", "repository (work tree) whose projects to check")
	f.Bool(&o.CheckEnv, "check-env", "AMIGO_CHECK_ENV", "", false, "also require every credential and from_env variable to be set in this environment")
	f.Bool(&o.Strict, "strict", "AMIGO_STRICT", "", false, "count warnings as problems (exit 2)")
	f.Verbose(&o.Verbose, "also list each file checked and each project found")
	if err := f.parse(args, env.Stdout); err != nil {
		return err
	}
	v := &validator{env: env, o: o}
	v.run()
	return v.finish()
}

// validator collects the problems of one validate run.
type validator struct {
	env      *Env
	o        ValidateOptions
	problems []problem
	checked  []string // files checked, for the summary
	root     string   // the work tree's root (absolute)
}

func (v *validator) verbosef(format string, args ...any) {
	if v.o.Verbose {
		fmt.Fprintf(v.env.Stderr, format+"\n", args...)
	}
}

func (v *validator) planPath() string {
	return ReleaseOptions{Config: v.o.Config, Repo: v.o.Repo}.planPath()
}

// display is how a repository-relative path (slash-separated, from the
// work tree's root) is shown: relative to --repo as given, like the plan.
func (v *validator) display(rel string) string {
	repoAbs, err := filepath.Abs(v.o.Repo)
	if err != nil {
		return rel
	}
	r, err := filepath.Rel(repoAbs, filepath.Join(v.root, filepath.FromSlash(rel)))
	if err != nil {
		return rel
	}
	return filepath.Join(v.o.Repo, r)
}

func (v *validator) run() {
	root, inGit := changes.WorkTree(v.o.Repo)
	v.root = root
	if !inGit {
		v.verbosef("%s is in no git work tree: checking it as the repository root (no .gitignore from .git/info/exclude)", root)
	}
	planFile := v.planPath()
	v.checked = append(v.checked, planFile)
	v.verbosef("checking the plan %s", planFile)
	plan, err := promote.Load(planFile)
	if err != nil {
		v.addErr(err)
		return // projects are found and merged through the plan
	}
	// The plan's credential and secret variables are masked (and, in a
	// CI, registered with the runner) before anything else is written:
	// --check-env and the tools' settings read their values.
	v.env.exit.Secret(pipeline.SecretValues(plan, v.env.Getenv)...)
	v.verbosef("plan: %d stage(s) in order %s", len(plan.Stages), strings.Join(stageNamesOf(plan.Order()), " → "))
	if v.o.CheckEnv {
		if err := plan.CheckCredentials(v.env.Getenv); err != nil {
			v.addErr(err)
		}
	}
	opts, err := pipeline.ChangesOptions(plan.Discovery)
	if err != nil {
		v.add(problem{file: planFile, path: "discovery", msg: err.Error()})
		return
	}
	projects, problems, err := changes.DiscoverDir(root, opts)
	if err != nil {
		v.addDiscoveryErr(err)
	}
	for _, pr := range problems {
		v.addProjectProblem(plan, pr)
	}
	names := map[string]bool{}
	for _, p := range projects {
		names[p.Name] = true
		v.checkProject(plan, p)
	}
	v.checkPlanNames(plan, names, err == nil && len(problems) == 0)
}

// checkProject checks one project's metadata and its merge with the plan.
func (v *validator) checkProject(plan *promote.Plan, p changes.Project) {
	dir := v.display(p.Path)
	meta, err := promote.LoadProjectMeta(dir)
	v.checked = append(v.checked, meta.File)
	v.verbosef("checking %s (tool %s)", meta.File, p.Name)
	if err != nil {
		v.addErr(err)
		return
	}
	getenv := func(k string) string {
		if x := v.env.Getenv(k); x != "" || v.o.CheckEnv {
			return x
		}
		return "<from " + k + ">" // the value is the run's business, unless --check-env
	}
	if _, err := plan.Resolve(p.Name, meta, getenv); err != nil {
		v.addErr(err)
	}
}

// checkPlanNames warns about tool names in the plan that no project has:
// tools.<name> entries, discovery.shared targets and stages' keep pins
// (a typo there silently does nothing). Only when discovery found every
// project (otherwise a broken project would be reported twice).
func (v *validator) checkPlanNames(plan *promote.Plan, names map[string]bool, complete bool) {
	if !complete {
		return
	}
	known := slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	})
	fix := func(name string) string {
		if len(known) == 0 {
			return "no tool project was found: check discovery.roots, include and exclude"
		}
		for _, k := range known {
			if editDistance(name, k) <= 2 {
				return fmt.Sprintf("did you mean %q? (tools: %s)", k, strings.Join(known, ", "))
			}
		}
		return "the tools are " + strings.Join(known, ", ") + "; remove the entry or fix the name"
	}
	for _, name := range slices.Sorted(mapKeys(plan.Tools)) {
		if !names[name] {
			line, col := plan.Tools[name].Pos()
			v.add(problem{file: plan.File, line: line, col: col, path: "tools." + name, warning: true,
				msg: fmt.Sprintf("no tool project is named %q: this entry applies to nothing", name), fix: fix(name)})
		}
	}
	for _, glob := range slices.Sorted(mapKeys(plan.Discovery.Shared)) {
		for _, name := range plan.Discovery.Shared[glob] {
			if !names[name] {
				v.add(problem{file: plan.File, path: "discovery.shared." + glob, warning: true,
					msg: fmt.Sprintf("names %q, which no tool project is", name), fix: fix(name)})
			}
		}
	}
	for i, st := range plan.Stages {
		for _, name := range slices.Sorted(mapKeys(st.Keep)) {
			if !names[name] {
				v.add(problem{file: plan.File, path: fmt.Sprintf("stages[%d].keep.%s", i, name), warning: true,
					msg: fmt.Sprintf("pins versions of %q, which no tool project is", name), fix: fix(name)})
			}
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func stageNamesOf(order []promote.Stage) []string {
	out := make([]string, len(order))
	for i, s := range order {
		out[i] = s.Name
	}
	return out
}

func (v *validator) add(p problem) { v.problems = append(v.problems, p) }

// addErr adds every problem an error from package promote holds.
func (v *validator) addErr(err error) {
	var list []*promote.Error
	if es, ok := errors.AsType[promote.Errors](err); ok {
		list = es
	} else if e, ok := errors.AsType[*promote.Error](err); ok {
		list = []*promote.Error{e}
	}
	if len(list) == 0 {
		v.add(problem{file: v.planPath(), msg: err.Error()})
		return
	}
	for _, e := range list {
		v.add(problem{file: e.File, line: e.Line, col: e.Column, path: e.Path, msg: e.Msg, fix: e.Fix})
	}
}

// addProjectProblem adds a project that cannot be a tool, on its
// pyproject.toml. A run refuses it only when it would release it or the
// plan names it; validate cannot know the first, so it is a problem here,
// with both fixes.
func (v *validator) addProjectProblem(plan *promote.Plan, pr changes.Problem) {
	file := v.display(pr.Pyproject)
	v.checked = append(v.checked, file)
	v.add(problem{file: file, line: pr.Line, msg: pr.Message,
		fix: fmt.Sprintf("if it is not a tool, add %q to discovery.exclude in %s (its files then count for the enclosing project)", pr.Path, plan.File)})
}

// addDiscoveryErr adds the discovery options that changes.DiscoverDir
// refuses (a root, include or shared glob that matches nothing), each on
// the plan's discovery key.
func (v *validator) addDiscoveryErr(err error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if oe, ok := errors.AsType[*changes.OptionError](e); ok {
			v.add(problem{file: v.planPath(), path: "discovery." + oe.Field, msg: fmt.Sprintf("%q %s", oe.Value, oe.Msg), fix: oe.Fix})
			continue
		}
		v.add(problem{file: v.planPath(), path: "discovery", msg: e.Error()})
	}
}

// finish reports the problems (plain lines on a terminal, annotations on
// the files in a CI) and returns the command's result.
func (v *validator) finish() error {
	sort.SliceStable(v.problems, func(i, j int) bool {
		a, b := v.problems[i], v.problems[j]
		if a.file != b.file {
			return a.file < b.file
		}
		return a.line < b.line
	})
	var errs, warns int
	ci := inCI(v.env.Getenv)
	var p platform.Platform
	if ci {
		p = platform.DetectCI(v.env.Getenv, platform.WithExit(v.env.exit), platform.WithHTTPClient(v.env.HTTPClient))
	}
	for _, pr := range v.problems {
		if pr.warning && !v.o.Strict {
			warns++
		} else {
			errs++
		}
		if !ci {
			fmt.Fprintln(v.env.Stdout, pr.String())
			continue
		}
		level := platform.LevelError
		if pr.warning && !v.o.Strict {
			level = platform.LevelWarning
		}
		msg := pr.msg
		if pr.path != "" {
			msg = pr.path + ": " + msg
		}
		if pr.fix != "" {
			msg += "; fix: " + pr.fix
		}
		p.Annotate(platform.Annotation{Level: level, File: v.repoRelative(pr.file), Line: pr.line, Col: pr.col,
			Title: "amigo-release validate", Message: msg})
	}
	files := len(slices.Compact(slices.Sorted(slices.Values(v.checked))))
	if errs > 0 {
		return usageErrorf("%s in %s checked%s", words.Plural(errs, "problem", "problem"+"s"), words.Plural(files, "file", "file"+"s"), warnSuffix(warns))
	}
	fmt.Fprintf(v.env.Stdout, "valid: %s checked, no problem%s\n", words.Plural(files, "file", "file"+"s"), warnSuffix(warns))
	return nil
}

// repoRelative is a displayed path made relative to the work tree's root,
// as CI annotations want.
func (v *validator) repoRelative(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(v.root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return filepath.ToSlash(rel)
}

func warnSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s: see above; --strict makes them fail)", words.Plural(n, "warning", "warning"+"s"))
}

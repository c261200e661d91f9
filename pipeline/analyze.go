package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"sync"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// changesOptions maps the plan's discovery settings to package changes.
func changesOptions(d promote.Discovery) (changes.Options, error) {
	o := changes.DefaultOptions()
	o.Roots = d.Roots
	o.Include = d.Include
	o.Exclude = d.Exclude
	o.Shared = d.Shared
	o.Names = d.Names
	if len(d.Bump.Types) > 0 {
		o.Types = map[string]changes.Bump{}
		for typ, b := range d.Bump.Types {
			bump, err := changes.ParseBump(b)
			if err != nil {
				return o, fmt.Errorf("discovery.bump.types.%s: %w", typ, err)
			}
			o.Types[typ] = bump
		}
	}
	if d.Bump.NonConventional != "" {
		b, err := changes.ParseBump(d.Bump.NonConventional)
		if err != nil {
			return o, fmt.Errorf("discovery.bump.non_conventional: %w", err)
		}
		o.NonConventional = b
	}
	return o, nil
}

// discoveryError names the plan file and the discovery key of each option
// that matches nothing at head (changes.OptionError), one start problem
// each; other errors get what.
func discoveryError(file, what string, err error) error {
	var oe *changes.OptionError
	if !errors.As(err, &oe) {
		return fmt.Errorf("%s: %w", what, err)
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var problems []Problem
	for _, e := range list {
		if errors.As(e, &oe) {
			e = fmt.Errorf("%s: discovery.%w", file, oe)
		}
		problems = append(problems, Problem{Err: e})
	}
	return startError(problems)
}

// checkProblems turns the projects that cannot be tools (no or an invalid
// name, a name two projects share) into start problems when this run would
// release them or the plan or the tool filter names them, and into warnings
// naming the paths otherwise: an example, a template or a test fixture must
// not block every release. Each names its pyproject.toml and line.
func (r *runner) checkProblems(rep *Report, res *changes.Result) error {
	named := planNames(r.opts.Plan)
	file := r.opts.Plan.File
	var problems []Problem
	for i := range res.Problems {
		p := &res.Problems[i]
		var why string
		filtered := len(r.opts.Tools) > 0 && !slices.Contains(r.opts.Tools, p.Name)
		switch {
		case p.Change != nil && releases(*p.Change) && !filtered:
			why = "this run would release it (" + p.Change.Reason + ")"
		case p.Name != "" && named[p.Name] != "":
			why = fmt.Sprintf("%s names %q", named[p.Name], p.Name)
		case p.Name != "" && slices.Contains(r.opts.Tools, p.Name):
			why = fmt.Sprintf("the tool filter names %q", p.Name)
		}
		if why == "" {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%v; nothing in this run releases it, so it is left out (if it is not a tool, add %q to discovery.exclude in %s: its files then count for the enclosing project)",
				p, p.Path, file))
			continue
		}
		problems = append(problems, Problem{Err: fmt.Errorf("%w; %s: fix it, or if it is not a tool add %q to discovery.exclude in %s (its files then count for the enclosing project)",
			p, why, p.Path, file)})
	}
	return startError(problems)
}

// releases reports whether a project change goes out in this run: a bump,
// or a first release (see toolRuns: a project never released goes out
// even without a feat or fix).
func releases(pc changes.ProjectChange) bool {
	return pc.Status == changes.StatusChanged || pc.Status == changes.StatusNoRelease && pc.FirstRelease
}

// planNames maps each tool name the plan mentions to where it does.
func planNames(p *promote.Plan) map[string]string {
	named := map[string]string{}
	for n := range p.Tools {
		named[n] = "tools." + n + " in " + p.File
	}
	for _, g := range slices.Sorted(maps.Keys(p.Discovery.Shared)) {
		for _, n := range p.Discovery.Shared[g] {
			if named[n] == "" {
				named[n] = fmt.Sprintf("discovery.shared %q in %s", g, p.File)
			}
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(p.Discovery.Names)) {
		if n := p.Discovery.Names[dir]; named[n] == "" {
			named[n] = fmt.Sprintf("discovery.names %q in %s", dir, p.File)
		}
	}
	return named
}

// remoteView is what the analysis learned from the servers: per stage, the
// tools by name and the state of each tool it asked about.
type remoteView struct {
	mu     sync.Mutex
	tools  map[string]map[string]*amigo.Tool // stage → name → tool
	states map[string]map[string]remoteState // stage → name → state
	// inflight holds a channel per stage and name being listed, closed
	// when the call ends (loadName).
	inflight map[string]chan struct{}
}

func newRemoteView() *remoteView {
	return &remoteView{tools: map[string]map[string]*amigo.Tool{}, states: map[string]map[string]remoteState{}, inflight: map[string]chan struct{}{}}
}

// state returns what the view knows of name in stage (zero when unknown).
func (v *remoteView) state(stage, name string) remoteState {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.states[stage][name]
}

// tool returns the tool called name in stage, if the stage's tools were
// listed and it is there.
func (v *remoteView) tool(stage, name string) *amigo.Tool {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.tools[stage][name]
}

// listed reports whether the analysis listed stage's tools (so a tool it
// did not find there did not exist then).
func (v *remoteView) listed(stage string) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.tools[stage]
	return ok
}

// snapshot returns the states (for chooseBase).
func (v *remoteView) snapshot() map[string]map[string]remoteState {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]map[string]remoteState, len(v.states))
	for st, m := range v.states {
		out[st] = make(map[string]remoteState, len(m))
		for n, rs := range m {
			out[st][n] = rs
		}
	}
	return out
}

// load asks the given stages' servers, in parallel, for the tools (once per
// stage) and, for each name not yet known there, its active versions. A run
// asks the first stage about every project (chooseBases: the bases) and
// the later stages about the projects it does not release from scratch
// (chooseBases for a tool the first stage serves at head, findStrays);
// each name is asked once per stage and run. Names are
// asked about in the order given, several at a time; known, when set, is
// told of each one as soon as its state is in the view (the early test
// feed, early.go).
func (v *remoteView) load(ctx context.Context, r *runner, stages []promote.Stage, names []string, known func(stage, name string)) error {
	var wg sync.WaitGroup
	errs := make([]error, len(stages))
	for i, st := range stages {
		if len(names) == 0 {
			v.mu.Lock()
			_, listed := v.tools[st.Name]
			v.mu.Unlock()
			if listed {
				continue
			}
		}
		wg.Add(1)
		go func(i int, st promote.Stage) {
			defer wg.Done()
			if err := v.loadStage(ctx, r, st, names, known); err != nil {
				errs[i] = fmt.Errorf("stage %s (%s): %w", st.Name, st.BaseURL, err)
			}
		}(i, st)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loadWorkers is how many list-versions calls the analysis has in flight
// per stage: the pacer keeps them within the limit (a burst of 50 reads
// goes at once), the workers keep the network's latency from adding up.
const loadWorkers = 8

func (v *remoteView) loadStage(ctx context.Context, r *runner, st promote.Stage, names []string, known func(stage, name string)) error {
	api, stage := r.apis[st.Name], st.Name
	v.mu.Lock()
	byName, listed := v.tools[stage]
	v.mu.Unlock()
	if !listed {
		tools, err := r.listTools(ctx, api, st)
		if err != nil {
			return fmt.Errorf("list tools: %w", err)
		}
		byName = map[string]*amigo.Tool{}
		for i := range tools {
			if !tools[i].Deprecated {
				byName[tools[i].Name] = &tools[i]
			}
		}
		for _, p := range r.projects {
			if t := byName[p]; t != nil {
				r.sawTool(st, p, t.ID)
			}
		}
		v.mu.Lock()
		v.tools[stage] = byName
		v.states[stage] = map[string]remoteState{}
		v.mu.Unlock()
	}
	work := make(chan string)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(work)
		for _, name := range names {
			select {
			case work <- name:
			case <-ctx.Done():
				return
			}
		}
	}()
	return v.loadFrom(ctx, r, st, work, known)
}

// loadFrom learns, loadWorkers at a time, the versions in stage st (whose
// tools are listed) of each name that comes from work, until work is
// closed; a failed call stops the rest (their calls fail at once) and is
// the answer.
func (v *remoteView) loadFrom(ctx context.Context, r *runner, st promote.Stage, work <-chan string, known func(stage, name string)) error {
	api, stage := r.apis[st.Name], st.Name
	v.mu.Lock()
	byName, listed := v.tools[stage]
	v.mu.Unlock()
	if !listed {
		for range work {
		}
		return fmt.Errorf("the tools of stage %s are not listed yet", stage)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Go(func() {
			for name := range work {
				if err := v.loadName(ctx, api, stage, byName, name, known); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return ctx.Err()
}

// loadName learns name's versions in stage (once). Two loads that want the
// same name at once (the analysis lists later stages beside the first,
// laterLists) send one call: the second waits for the first, and asks
// itself only when that one failed.
func (v *remoteView) loadName(ctx context.Context, api API, stage string, byName map[string]*amigo.Tool, name string, known func(stage, name string)) error {
	for {
		v.mu.Lock()
		if v.states[stage][name].known {
			v.mu.Unlock()
			return nil
		}
		wait, busy := v.inflight[stage+"\x00"+name]
		if !busy {
			break
		}
		v.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("list versions of %s: %w", name, ctx.Err())
		}
	}
	key := stage + "\x00" + name
	done := make(chan struct{})
	v.inflight[key] = done
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.inflight, key)
		v.mu.Unlock()
		close(done)
	}()
	t := byName[name]
	st := remoteState{known: true, tool: t}
	if t != nil {
		vs, err := api.Versions(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("list versions of %s: %w", name, err)
		}
		st.versions = vs
	}
	v.mu.Lock()
	v.states[stage][name] = st
	v.mu.Unlock()
	if known != nil {
		known(stage, name)
	}
	return nil
}

// toolsByID is what an API offers when it can list tools by id
// (FromClient): 20 a call, where the whole list of a large organization is
// many pages.
type toolsByID interface {
	ToolsByID(ctx context.Context, ids []string) ([]amigo.Tool, error)
}

// listTools returns the stage's tools as the analysis needs them: every
// project's tool, or knowledge that it has none. When the history knows
// every project's id on this server, they are looked up by id (a call per
// 20 projects, not a page per 20 tools of the organization); only when
// each comes back under its project's name is that the answer. Anything
// else (a project the history does not know, a tool deprecated or renamed
// since) takes the whole list.
func (r *runner) listTools(ctx context.Context, api API, st promote.Stage) ([]amigo.Tool, error) {
	byID, ok := api.(toolsByID)
	server := serverOrg(st)
	var ids []string
	want := map[string]string{} // id → project
	for _, p := range r.projects {
		id, known := r.opts.History.ToolID(server, p)
		if !known || !ok {
			return api.ListTools(ctx)
		}
		ids = append(ids, id)
		want[id] = p
	}
	if len(ids) == 0 {
		return api.ListTools(ctx)
	}
	tools, err := byID.ToolsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	found := 0
	for _, t := range tools {
		if p, ok := want[t.ID]; ok && p == t.Name && !t.Deprecated {
			found++
		}
	}
	if found != len(ids) {
		r.log.Infof("stage %s: %d of %d tools found by the ids the history knows; listing every tool", st.Name, found, len(ids))
		return api.ListTools(ctx)
	}
	return tools, nil
}

// baseChoice is the base of one tool and why it was chosen.
type baseChoice struct {
	base string // "" with set: first release
	set  bool   // false: use the request's DefaultBase (the event's before)
	why  string
}

// chooseBase picks a tool's base commit (DESIGN §5): the commit of its
// newest version in the first stage when that commit is in local history;
// else (the commit is unknown and the clone is not shallow, e.g. history was
// rewritten) the event's before (set=false); a tool that does not exist yet (or
// has no version) is a first release. When the first stage already serves
// head (a rerun after a later stage failed), the base is the newest commit
// of the first stage that lags behind, so that the lagging stages are
// finished; when every stage serves head the base is head (unchanged).
func chooseBase(name, head string, order []promote.Stage, remote map[string]map[string]remoteState, has func(string) bool, shallow bool) baseChoice {
	first := remote[order[0].Name][name]
	if first.tool == nil {
		return baseChoice{set: true, why: fmt.Sprintf("first release: no tool %s in stage %s", name, order[0].Name)}
	}
	nv := newest(first.versions)
	if nv == nil {
		return baseChoice{set: true, why: fmt.Sprintf("first release: tool %s has no active version in stage %s", name, order[0].Name)}
	}
	commit := nv.ToolCommitHash
	if !sameCommit(commit, head) {
		if commit != "" && (has(commit) || shallow) {
			// In a shallow clone a missing commit is history not fetched:
			// Detect deepens (Options.Deepen) or says fetch-depth: 0.
			return baseChoice{base: commit, set: true, why: fmt.Sprintf("base %s: commit of %s %s in stage %s", changes.ShortSHA(commit), name, nv.Version, order[0].Name)}
		}
		return baseChoice{why: fmt.Sprintf("commit %s of %s %s in stage %s is not in local history (use fetch-depth: 0): falling back to the event's before", changes.ShortSHA(commit), name, nv.Version, order[0].Name)}
	}
	for _, st := range order[1:] {
		rs := remote[st.Name][name]
		lag := rs.tool == nil || versionWithCommit(rs.versions, head) == nil
		if !lag {
			continue
		}
		var n *amigo.ToolVersion
		if rs.tool != nil {
			n = newest(rs.versions)
		}
		switch {
		case n == nil:
			return baseChoice{set: true, why: fmt.Sprintf("resume: stage %s already serves %s but stage %s has no version yet: first release there", order[0].Name, changes.ShortSHA(head), st.Name)}
		case n.ToolCommitHash != "" && (has(n.ToolCommitHash) || shallow):
			return baseChoice{base: n.ToolCommitHash, set: true, why: fmt.Sprintf("resume: stage %s already serves %s; base %s from stage %s (%s)", order[0].Name, changes.ShortSHA(head), changes.ShortSHA(n.ToolCommitHash), st.Name, n.Version)}
		default:
			return baseChoice{why: fmt.Sprintf("resume: stage %s lags and its commit is not in local history: falling back to the event's before", st.Name)}
		}
	}
	return baseChoice{base: head, set: true, why: fmt.Sprintf("every stage already serves %s", changes.ShortSHA(head))}
}

// resolveSettings reads the project's metadata from its pyproject.toml as
// the released commit holds it (not the work tree, which --head or a push
// landing mid-run may leave elsewhere) and merges it with the plan.
func (r *runner) resolveSettings(p changes.Project, missing *[]string) (promote.ToolSettings, error) {
	rel := path.Join(p.Path, changes.PyprojectFile)
	dir := filepath.Join(r.opts.RepoPath, filepath.FromSlash(p.Path))
	file := filepath.Join(r.opts.RepoPath, filepath.FromSlash(rel))
	data, err := r.repo.ReadFile(r.head, rel)
	if err != nil {
		return promote.ToolSettings{}, fmt.Errorf("%s at %s: %w", file, changes.ShortSHA(r.head), err)
	}
	meta, err := promote.ParseProjectMeta(file, data)
	meta.Dir = dir
	if err != nil {
		return promote.ToolSettings{}, err
	}
	return r.opts.Plan.Resolve(p.Name, meta, r.planGetenv(missing))
}

// planGetenv is the getenv of plan and offline modes: a variable that a
// from_env names but the environment lacks (a pull request from a fork
// gets no secrets) reads as a placeholder, and missing collects its name,
// so the preview still shows what would release. A run (dry or not) keeps
// the strict getenv: there the variable is needed.
func (r *runner) planGetenv(missing *[]string) func(string) string {
	if r.opts.DryRun || (r.opts.Mode != ModePlan && r.opts.Mode != ModeOffline) {
		return r.opts.Getenv
	}
	return func(k string) string {
		if v := r.opts.Getenv(k); v != "" {
			return v
		}
		*missing = append(*missing, k)
		return "<unset: " + k + ">"
	}
}

// toolSettingsFrom converts the resolved settings.
func toolSettingsFrom(s promote.ToolSettings) toolSettings {
	ts := toolSettings{
		Description: s.Description,
		Tags:        s.Tags,
		TestInputs:  s.TestInputs,
		SkipStages:  s.SkipStages,
		Required:    append(slices.Clone(s.RequiredEnvvars), s.RequiredSecretEnvvars...),
	}
	for _, e := range s.Envvars {
		ts.Envvars = append(ts.Envvars, envvar{Name: e.Name, Value: e.Value, Secret: e.Secret})
	}
	return ts
}

// toolSettings is what the pipeline needs of a tool's configuration.
type toolSettings struct {
	Description string
	Tags        map[string]*string
	Envvars     []envvar
	TestInputs  []amigo.Input
	SkipStages  []string
	Required    []string
}

// commitSummaries converts the commits of a project change.
func commitSummaries(cs []changes.Commit) []CommitSummary {
	out := make([]CommitSummary, len(cs))
	for i, c := range cs {
		out[i] = CommitSummary{SHA: c.SHA, Subject: c.Subject, Type: c.Type, Scope: c.Scope, Breaking: c.Breaking, Bump: c.Bump.String(), Note: c.Note}
	}
	return out
}

package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// StatusOptions configure Status.
type StatusOptions struct {
	Plan *promote.Plan
	// Repo and Head (a resolved commit) are the repository the tools live
	// in: their projects, and what "contains" and "behind" are measured
	// against.
	Repo *changes.Repo
	Head string
	// Tools limits the status to these tool names; empty means every tool
	// project at Head.
	Tools []string
	// Readers are the stages' servers, by stage name (every stage of the
	// plan).
	Readers map[string]Reader
}

// Stage states in StageStatus.State.
const (
	StateServing   = "serving"    // a non-deprecated version serves
	StateNoTool    = "no-tool"    // the stage has no tool of that name
	StateNoVersion = "no-version" // the tool exists, every version is deprecated (or none)
	StateSkipped   = "skipped"    // the tool's skip_stages names the stage
)

// StatusReport is what serves where.
type StatusReport struct {
	Head     string        `json:"head"`
	Stages   []StatusStage `json:"stages"`
	Tools    []ToolStatus  `json:"tools"`
	Warnings []string      `json:"warnings,omitempty"`
}

// StatusStage describes a stage of the plan, in DAG order.
type StatusStage struct {
	Name      string `json:"name"`
	Region    string `json:"region,omitempty"`
	BaseURL   string `json:"base_url"`
	ActiveCap int    `json:"active_cap"`
}

// ToolStatus is one tool across the stages.
type ToolStatus struct {
	Name   string        `json:"name"`
	Path   string        `json:"path,omitempty"`
	Stages []StageStatus `json:"stages"`
	// Drift says, one sentence each, where the stages differ: a commit
	// numbered differently per region, or stages serving different
	// commits.
	Drift []string `json:"drift,omitempty"`
}

// StageStatus is one tool in one stage.
type StageStatus struct {
	Stage string `json:"stage"`
	State string `json:"state"`
	// Version is the serving version: the newest non-deprecated by semver.
	Version string `json:"version,omitempty"`
	// Commit is the serving version's tool_commit_hash.
	Commit string `json:"commit,omitempty"`
	// InHead says whether head contains Commit; nil when the commit is
	// not in the local history (a shallow clone, a rewritten branch).
	InHead *bool `json:"in_head,omitempty"`
	// Behind counts the commits in Commit..head, and ToolBehind those of
	// them that touch the tool (what a release would pick up).
	Behind     int `json:"commits_behind"`
	ToolBehind int `json:"tool_commits_behind"`
	// Active are the non-deprecated versions, newest first, against the
	// stage's ActiveCap.
	Active    []string `json:"active"`
	ActiveCap int      `json:"active_cap"`
	// Pinned are the stage's keep entries for the tool.
	Pinned []Pin `json:"pinned,omitempty"`
}

// Pin is a pinned version and whether it is still active.
type Pin struct {
	Version string `json:"version"`
	Active  bool   `json:"active"`
}

// Status reads every stage's tools and versions (read-only) and says, per
// tool and stage, what serves, its commit and how far head is ahead, the
// active versions against the cap, the pins, and the drift between
// regions. A server that cannot be read is an error: a partial status
// would read as "not released there".
func Status(ctx context.Context, o StatusOptions) (*StatusReport, error) {
	order := o.Plan.Order()
	copts, err := pipeline.ChangesOptions(o.Plan.Discovery)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Plan.File, err)
	}
	projects, problems, err := changes.Discover(o.Repo, o.Head, copts)
	if err != nil {
		return nil, fmt.Errorf("discover projects: %w", err)
	}
	rep := &StatusReport{Head: o.Head}
	for i := range problems {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("not a tool project: %v", &problems[i]))
	}
	for _, st := range order {
		rep.Stages = append(rep.Stages, StatusStage{Name: st.Name, Region: st.Region, BaseURL: st.BaseURL, ActiveCap: st.ActiveCap})
	}
	paths := map[string]string{}
	var names []string
	for _, p := range projects {
		paths[p.Name] = p.Path
		names = append(names, p.Name)
	}
	if len(o.Tools) > 0 {
		names = nil
		for _, n := range o.Tools {
			if _, ok := paths[n]; !ok {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s is not a tool project at %s: showing what the servers have", n, short(o.Head)))
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	versions, err := readStages(ctx, order, o.Readers, names)
	if err != nil {
		return nil, err
	}
	behind := newBehindCache(o.Repo, o.Head, copts)
	for _, name := range names {
		ts := ToolStatus{Name: name, Path: paths[name]}
		skips := skippedStages(o, name, paths[name])
		for _, st := range order {
			ss := StageStatus{Stage: st.Name, ActiveCap: st.ActiveCap, Active: []string{}}
			for _, v := range st.Keep[name] {
				ss.Pinned = append(ss.Pinned, Pin{Version: v.String()})
			}
			td, exists := versions[st.Name][name]
			vs := td.versions
			switch {
			case slices.Contains(skips, st.Name):
				ss.State = StateSkipped
			case !exists:
				ss.State = StateNoTool
			default:
				ss.State = StateNoVersion
			}
			active := activeNewestFirst(vs)
			for _, v := range active {
				ss.Active = append(ss.Active, v.Version.String())
			}
			for i := range ss.Pinned {
				ss.Pinned[i].Active = slices.Contains(ss.Active, ss.Pinned[i].Version)
			}
			if len(active) > 0 {
				ss.State = StateServing
				ss.Version, ss.Commit = active[0].Version.String(), active[0].ToolCommitHash
				ss.InHead, ss.Behind, ss.ToolBehind = behind.of(ss.Commit, name)
			}
			ts.Stages = append(ts.Stages, ss)
		}
		ts.Drift = driftOf(o.Repo, ts.Stages, versions, name, order)
		rep.Tools = append(rep.Tools, ts)
	}
	return rep, nil
}

// toolData is a tool as one stage has it: the tool and every version of
// it, deprecated ones too.
type toolData struct {
	id       string
	versions []amigo.ToolVersion
}

// readStages asks every stage, in parallel, for its tools and, for each
// of names it has, every version (deprecated ones too). A name a stage
// does not have is absent from that stage's map.
func readStages(ctx context.Context, order []promote.Stage, readers map[string]Reader, names []string) (map[string]map[string]toolData, error) {
	out := map[string]map[string]toolData{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(order))
	for i, st := range order {
		rd := readers[st.Name]
		if rd == nil {
			return nil, fmt.Errorf("stage %s: no client", st.Name)
		}
		wg.Add(1)
		go func(i int, st promote.Stage) {
			defer wg.Done()
			m, err := readStage(ctx, rd, names)
			if err != nil {
				errs[i] = fmt.Errorf("stage %s (%s): %w", st.Name, st.BaseURL, err)
				return
			}
			mu.Lock()
			out[st.Name] = m
			mu.Unlock()
		}(i, st)
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func readStage(ctx context.Context, rd Reader, names []string) (map[string]toolData, error) {
	tools, err := rd.ListTools(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tools: %w", err)
	}
	byName := map[string]amigo.Tool{}
	for _, t := range tools {
		if !t.Deprecated {
			byName[t.Name] = t
		}
	}
	out := map[string]toolData{}
	for _, n := range names {
		t, ok := byName[n]
		if !ok {
			continue
		}
		vs, err := rd.AllVersions(ctx, t.ID)
		if err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", n, err)
		}
		out[n] = toolData{id: t.ID, versions: vs}
	}
	return out, nil
}

// skippedStages are the stages the tool's settings skip (plan or
// pyproject.toml at head); none when they cannot be read.
func skippedStages(o StatusOptions, name, path string) []string {
	if path == "" {
		if tc, ok := o.Plan.Tools[name]; ok {
			return tc.SkipStages
		}
		return nil
	}
	s, err := resolveTool(o.Plan, o.Repo, o.Head, name, path)
	if err != nil {
		return nil
	}
	return s.SkipStages
}

// activeNewestFirst returns the non-deprecated versions, newest first by
// semver.
func activeNewestFirst(vs []amigo.ToolVersion) []amigo.ToolVersion {
	var out []amigo.ToolVersion
	for _, v := range vs {
		if !v.Deprecated {
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[j].Version.Less(out[i].Version) })
	return out
}

// behindCache measures commits behind head, once per serving commit.
type behindCache struct {
	repo  *changes.Repo
	head  string
	copts changes.Options
	mu    sync.Mutex
	seen  map[string]behindEntry
}

type behindEntry struct {
	inHead *bool
	all    int
	tools  map[string]int // commits per project name in commit..head
}

func newBehindCache(repo *changes.Repo, head string, copts changes.Options) *behindCache {
	return &behindCache{repo: repo, head: head, copts: copts, seen: map[string]behindEntry{}}
}

// of says whether head contains commit, how many commits it is behind
// head, and how many of those touch tool.
func (c *behindCache) of(commit, tool string) (*bool, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.seen[commit]
	if !ok {
		e = c.measure(commit)
		c.seen[commit] = e
	}
	return e.inHead, e.all, e.tools[tool]
}

func (c *behindCache) measure(commit string) behindEntry {
	var e behindEntry
	if commit == "" || !c.repo.HasCommit(commit) {
		return e
	}
	in, err := c.repo.IsAncestor(commit, c.head)
	if err != nil {
		return e
	}
	e.inHead = &in
	if !in {
		return e
	}
	if e.all, err = c.repo.CountCommits(commit, c.head); err != nil {
		return e
	}
	e.tools = map[string]int{}
	res, err := changes.Detect(context.Background(), c.repo, changes.Request{Head: c.head, DefaultBase: commit, Options: c.copts})
	if err != nil {
		return e
	}
	for _, p := range res.Projects {
		e.tools[p.Name] = len(p.Commits)
	}
	return e
}

// driftOf finds where the stages differ for a tool: one commit under
// different numbers (each server numbers its own versions), and stages
// serving different commits than the first stage.
func driftOf(repo *changes.Repo, stages []StageStatus, versions map[string]map[string]toolData, tool string, order []promote.Stage) []string {
	var out []string
	type entry struct{ stage, version string }
	byCommit := map[string][]entry{}
	var commits []string
	for _, st := range order {
		seen := map[string]bool{}
		for _, v := range activeNewestFirst(versions[st.Name][tool].versions) {
			key := strings.ToLower(v.ToolCommitHash)
			if key == "" || seen[key] {
				continue // a stage's own repeats of a commit are not drift
			}
			seen[key] = true
			if _, ok := byCommit[key]; !ok {
				commits = append(commits, key)
			}
			byCommit[key] = append(byCommit[key], entry{st.Name, v.Version.String()})
		}
	}
	for _, c := range commits {
		es := byCommit[c]
		distinct := map[string]bool{}
		for _, e := range es {
			distinct[e.version] = true
		}
		if len(distinct) < 2 {
			continue
		}
		parts := make([]string, len(es))
		for i, e := range es {
			parts[i] = e.version + " in " + e.stage
		}
		out = append(out, fmt.Sprintf("commit %s is %s (each server numbers its own versions)", short(c), strings.Join(parts, ", ")))
	}
	var first *StageStatus
	for i := range stages {
		if stages[i].State == StateServing {
			first = &stages[i]
			break
		}
	}
	if first == nil {
		return out
	}
	for i := range stages {
		s := &stages[i]
		if s == first || s.State != StateServing || pipeline.SameCommit(s.Commit, first.Commit) {
			continue
		}
		how := "serves another commit than"
		if ok, err := repo.IsAncestor(s.Commit, first.Commit); err == nil && ok {
			how = "is behind"
		} else if ok, err := repo.IsAncestor(first.Commit, s.Commit); err == nil && ok {
			how = "is ahead of"
		}
		out = append(out, fmt.Sprintf("%s %s %s: it serves %s (%s), %s serves %s (%s)",
			s.Stage, how, first.Stage, s.Version, short(s.Commit), first.Stage, first.Version, short(first.Commit)))
	}
	return out
}

// resolveTool reads a tool's settings as a release would at head (the
// plan's tools entry over the project's pyproject.toml), with from_env
// values that are not set read as placeholders: status and rollback use
// only the stages skipped and the test inputs.
func resolveTool(plan *promote.Plan, repo *changes.Repo, head, name, path string) (promote.ToolSettings, error) {
	rel := path + "/" + changes.PyprojectFile
	data, err := repo.ReadFile(head, rel)
	if err != nil {
		return promote.ToolSettings{}, fmt.Errorf("%s at %s: %w", rel, short(head), err)
	}
	meta, err := promote.ParseProjectMeta(rel, data)
	if err != nil {
		return promote.ToolSettings{}, err
	}
	return plan.Resolve(name, meta, func(string) string { return "<unset>" })
}

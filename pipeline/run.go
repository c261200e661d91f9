package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/promote"
)

// runner is the state of one Run.
type runner struct {
	opts   *Options
	clk    clock.Clock
	log    *runLog
	policy retryPolicy
	order  []promote.Stage
	apis   map[string]API
	sems   map[string]chan struct{}

	statsMu sync.Mutex
	stats   Stats

	caps capMemory // cap refusals learned per server (caprule.go)

	haltCtx    context.Context
	haltCancel context.CancelFunc
	haltMu     sync.Mutex
	haltReason string

	// repo and head are the repository and the commit being released, set
	// once the run has resolved them: project metadata is read at head.
	repo *changes.Repo
	head string
	// tips knows where each stage's branch is (see tips.go).
	tips *tipChecker
	// stopped is set by an interrupt (Options.Stop).
	stopped atomic.Bool

	// projects are the names of the tool projects at head (nil until the
	// analysis has discovered them), for the report's timings.
	projects []string
	// measured is how long each publish of the run took, by tool and
	// stage (history.go).
	measuredMu sync.Mutex
	measured   map[string]map[string]time.Duration
	// seenIDs is each tool's id on each server, as the run saw them.
	seenIDs map[string]map[string]string
	// est expects each tool's publish durations (history.go).
	est estimator
}

// toolRun is one changed tool during the run.
type toolRun struct {
	name, path string
	commit     string
	// commitsBump is the bump its commits call for (None for a first
	// release without feat or fix); stageBump turns it into each stage's.
	commitsBump changes.Bump
	settings    toolSettings
	resolved    promote.ToolSettings
	settingsErr error // resolving the settings failed (t.rep.Error says it, masked)
	rep         *ToolReport
	stages      []*stageRun
	byName      map[string]*stageRun
	// seeMu guards a stage's seen list where another stage's stray check
	// lists it (strays.go).
	seeMu sync.Mutex
}

// Run releases the changed tools of opts.RepoPath at opts.Head through the
// plan's stages (or, in ModePlan and ModeOffline, reports what it would do)
// and returns the report. The error is non-nil only when the run could not
// be carried out at all (bad options, unreadable repository, missing
// credentials, unreachable server during the analysis); it is then also in
// Report.Error. Per-tool failures are in the report: see Report.OK.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.normalize(); err != nil {
		return &Report{Mode: string(ModeRun), Error: err.Error()}, err
	}
	r := &runner{
		opts:  &opts,
		clk:   opts.Clock,
		order: opts.Plan.Order(),
		apis:  map[string]API{},
		sems:  map[string]chan struct{}{},
	}
	// The plan's publish section is the policy of every retry of the run
	// (promote owns the defaults; an explicit 0s budget means no retry).
	r.est = newEstimator(opts.History, r.order)
	r.policy = retryPolicy{
		Budget:       opts.Plan.Publish.RetryBudget,
		Initial:      opts.Plan.Publish.InitialInterval,
		Max:          opts.Plan.Publish.MaxInterval,
		Clock:        opts.Clock,
		OnLastChance: func() { r.count(func(st *Stats) { st.LastChanceWaits++ }) },
	}
	r.haltCtx, r.haltCancel = context.WithCancel(ctx)
	defer r.haltCancel()
	r.log = newRunLog(opts.Logger, SecretValues(opts.Plan, opts.Getenv), opts.Clock.Now)
	if opts.Stop != nil {
		go func() {
			select {
			case <-opts.Stop:
				r.interrupt()
			case <-r.haltCtx.Done():
			}
		}()
	}
	rep := r.newReport()
	err := r.run(ctx, rep)
	rep.Interrupted = r.interrupted()
	if !r.opts.readOnly() {
		rep.Stats = r.stats
	}
	rep.Learned = r.learned(r.projects)
	if err != nil {
		// Returned, not logged: the caller prints it once (the CLI also
		// annotates it in CI).
		rep.Error = r.log.mask(err.Error())
	}
	rep.FinishedAt = r.clk.Now()
	return rep, err
}

// Preview is Run without any mutating call: ModePlan (read-only API calls),
// or ModeOffline when opts.Mode asks for it (no API call at all). It reports
// what a run would do, each stage StatusPlanned or StatusUpToDate.
func Preview(ctx context.Context, opts Options) (*Report, error) {
	if opts.Mode != ModeOffline {
		opts.Mode = ModePlan
	}
	return Run(ctx, opts)
}

func (r *runner) newReport() *Report {
	mode := string(r.opts.Mode)
	if r.opts.Mode == ModeOffline {
		mode = string(ModePlan)
	}
	if r.opts.DryRun {
		mode = string(ModeRun)
	}
	rep := &Report{Mode: mode, DryRun: r.opts.DryRun, Repo: r.opts.RepoPath, Branch: r.order[0].Branch, StartedAt: r.clk.Now()}
	for _, st := range r.order {
		rep.Stages = append(rep.Stages, StageInfo{Name: st.Name, Region: st.Region, BaseURL: st.BaseURL, Needs: st.Needs})
	}
	if r.opts.Mode == ModeOffline {
		rep.Warnings = append(rep.Warnings, "offline plan: no API call was made, so versions are unknown and bases come from --base or the event's before")
	}
	return rep
}

// run is Run's table of contents. Everything before schedule makes no
// mutating call, and each check collects every problem it finds (see
// preflight.go): a run starts whole or not at all.
func (r *runner) run(ctx context.Context, rep *Report) error {
	repo, err := changes.Open(r.opts.RepoPath)
	if err != nil {
		return err // changes names the repository and the problem
	}
	defer repo.Close()
	head, err := repo.Resolve(r.opts.Head)
	if err != nil {
		return fmt.Errorf("resolve head %q: %w", r.opts.Head, err)
	}
	rep.Head = head
	r.repo, r.head = repo, head
	r.tips = &tipChecker{repo: repo, remote: r.opts.Remote}
	if err := r.checkStart(ctx, rep); err != nil {
		return err
	}
	if err := r.connect(ctx); err != nil {
		return err
	}
	var tq *testQueues
	if !r.opts.readOnly() {
		// The test queues start before the analysis (early.go): the first
		// test goes out as soon as one tool is known to release.
		tq = r.startTests(ctx)
	}
	an, err := r.analyze(ctx, rep, repo, head, tq)
	if err != nil {
		tq.abort()
		return err
	}
	tools := r.toolRuns(rep, an)
	r.checkFilter(rep, an.projects)
	if len(tools) == 0 && len(an.strays) == 0 {
		tq.abort()
		r.log.Infof("nothing to release")
		return nil
	}
	if err := r.checkTools(tools); err != nil {
		tq.abort()
		r.notStartedTools(tools, "not started: the release could not start")
		return err
	}
	// The first change a run makes: versions an earlier run left serving
	// beyond a stage that never served their commit are withdrawn.
	r.withdrawStrays(ctx, rep, tools, an.strays)
	if len(tools) == 0 {
		tq.abort()
		r.log.Infof("nothing to release")
		return nil
	}
	if r.opts.readOnly() {
		for _, t := range tools {
			r.planTool(t)
		}
		r.assignSlots(rep, tools)
		for _, t := range tools {
			r.finishTool(t)
		}
		return nil
	}
	r.log.Infof("test order: %s", r.est.describe(r.projects))
	r.slotNote()
	r.schedule(ctx, tools, tq)
	return nil
}

// analysis is what Run learned before releasing anything.
type analysis struct {
	projects []changes.Project
	res      *changes.Result
	why      map[string]string // base choice per tool
	remote   map[string]map[string]remoteState
	view     *remoteView // nil offline
	// strays are the versions serving beyond a stage that never served
	// their commit, per tool (strays.go).
	strays map[string][]stray
	// strayChecked names the projects the analysis looked at in every
	// stage for strays; the others are checked by their chains.
	strayChecked map[string]bool
	bases        map[string]string // the base chosen per tool, when one was
}

// releasesFromScratch reports a project this run releases (its change goes
// out and the tool filter keeps it) whose first stage serves no version of
// head: every later stage it reaches is listed after its publish there.
func (r *runner) releasesFromScratch(name string, res *changes.Result, view *remoteView) bool {
	if len(r.opts.Tools) > 0 && !slices.Contains(r.opts.Tools, name) {
		return false
	}
	rs := view.state(r.order[0].Name, name)
	if !rs.known || versionWithCommit(rs.versions, res.Head) != nil {
		return false
	}
	for _, pc := range res.Projects {
		if pc.Name == name {
			return releases(pc)
		}
	}
	return false
}

// analyze discovers the projects, asks the servers what they serve (not
// offline), picks each tool's base and detects the changes.
func (r *runner) analyze(ctx context.Context, rep *Report, repo *changes.Repo, head string, tq *testQueues) (*analysis, error) {
	copts, err := changesOptions(r.opts.Plan.Discovery)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.opts.Plan.File, err)
	}
	// The projects that cannot be tools come with Detect's result, with
	// what the range did to them (checkProblems); until then, they keep
	// the early feed from starting (earlyAllowed).
	projects, problems, err := changes.Discover(repo, head, copts)
	if err != nil {
		return nil, discoveryError(r.opts.Plan.File, "discover projects", err)
	}
	r.log.Infof("%s at %s; %s: %s", words.Plural(len(projects), "project", "projects"), changes.ShortSHA(head), words.Plural(len(r.order), "stage", "stages"), stageNames(r.order))
	r.projects = make([]string, len(projects))
	for i, p := range projects {
		r.projects[i] = p.Name
	}
	var view *remoteView
	if r.opts.Mode != ModeOffline {
		view = newRemoteView()
	}
	// The projects in the order the test queue will take them, so that
	// the early feed (early.go) learns the most urgent first.
	projects = r.expectedOrder(projects)
	if view != nil {
		// Every stage's tools, once, before any version: the checks
		// before the first mutating call need them, and the early feed
		// starts only when none of those can fail any more.
		if err := view.load(ctx, r, r.order, nil, nil); err != nil {
			return nil, err
		}
	}
	det := r.newEarlyDetections(repo, head, copts, view) // one per project, for the feed and the later lists
	feed := r.startFeed(tq, det, head, view, projects, len(problems) > 0)
	defer feed.finish()
	var later *laterLists // the later stages' lists beside the first's (laterlists.go)
	// FullDiscovery: a released name must be no other project's, touched
	// by the range or not.
	req := changes.Request{Head: head, Options: copts, DefaultBase: r.opts.EventBefore, Bases: map[string]string{}, Deepen: r.opts.Deepen, FullDiscovery: true}
	why := map[string]string{}
	switch {
	case r.opts.Base != "":
		req.DefaultBase = r.opts.Base
		for _, p := range projects {
			feed.offer(r.order[0].Name, p.Name)
		}
	case view != nil:
		later = r.startLaterLists(ctx, view, det, head, projects)
		defer later.abandon()
		if err := r.chooseBases(ctx, view, projects, head, repo, req.Bases, why, feed, later); err != nil {
			return nil, err
		}
	}
	feed.finish() // the full detection takes over
	later.stop()
	res, err := changes.Detect(ctx, repo, req)
	if err != nil {
		return nil, discoveryError(r.opts.Plan.File, "detect changes", err)
	}
	rep.Warnings = append(rep.Warnings, res.Warnings...)
	if err := r.checkProblems(rep, res); err != nil {
		return nil, err
	}
	var strays map[string][]stray
	checked := map[string]bool{}
	if view != nil {
		var changed []string
		for _, pc := range res.Projects {
			if pc.Status == changes.StatusChanged {
				changed = append(changed, pc.Name)
			}
		}
		// The stray check of the analysis (strays.go) covers every project
		// but those this run releases from a first stage that does not
		// serve head: their chains list each stage they reach after its
		// publish anyway, and look there (checkStrays); what they do not
		// reach, sweepStrays lists at the end. So each later stage is
		// listed once per tool and run. In plan mode and dry runs every
		// stage of a changed tool is listed anyway (loadForStages).
		var look []changes.Project
		for _, p := range projects {
			if r.opts.readOnly() || !r.releasesFromScratch(p.Name, res, view) {
				look = append(look, p)
				checked[p.Name] = true
			}
		}
		// Every later list ends before loadForStages: plan mode's highest
		// versions are written on states no list overwrites after.
		if err := later.finish(look); err != nil {
			return nil, err
		}
		if err := r.loadForStages(ctx, view, changed); err != nil {
			return nil, err
		}
		// After loadForStages, not beside it: each name is listed once per
		// stage, and plan mode's highest versions are not overwritten.
		if strays, err = r.findStrays(ctx, view, look, repo, head); err != nil {
			return nil, err
		}
	}
	an := &analysis{projects: projects, res: res, why: why, view: view, strays: strays, strayChecked: checked, bases: req.Bases}
	if view != nil {
		an.remote = view.snapshot()
	}
	return an, nil
}

// loadForStages learns what the stages need of the changed tools: in plan
// mode everything (versions before, up-to-date stages); in a run, the
// versions in test-gated stages (so no test is spent on a stage that already
// serves the commit) and otherwise only the tool list (each stage lists the
// versions itself when it starts).
func (r *runner) loadForStages(ctx context.Context, view *remoteView, changed []string) error {
	if len(changed) == 0 {
		return nil
	}
	if r.opts.readOnly() {
		if err := view.load(ctx, r, r.order, changed, nil); err != nil {
			return err
		}
		return view.loadHighest(ctx, r, r.order, changed)
	}
	var gated, other []promote.Stage
	for _, st := range r.order {
		if st.Test {
			gated = append(gated, st)
		} else {
			other = append(other, st)
		}
	}
	errs := make(chan error, 2)
	go func() { errs <- view.load(ctx, r, gated, changed, nil) }()
	go func() { errs <- view.load(ctx, r, other, nil, nil) }()
	return errors.Join(<-errs, <-errs)
}

// chooseBases asks the first stage about every project (it gives the
// bases, and tells the early test feed, early.go, of each tool as it
// learns it), then the later stages about the tools the first already
// serves at head (their bases come from the stages that lag). The other
// projects' later stages are asked where the run does not release them
// (findStrays): as each one's first stage comes in, beside the rest of the
// first stage (laterLists), the others after the detection. A tool filter
// (a fan-out job) does not narrow this: the strays of every project are
// found and withdrawn (strays.go). Then it picks each base.
func (r *runner) chooseBases(ctx context.Context, view *remoteView, projects []changes.Project, head string, repo *changes.Repo, bases, why map[string]string, feed *earlyFeed, later *laterLists) error {
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	known := func(stage, name string) {
		feed.offer(stage, name)
		later.offer(stage, name)
	}
	if err := view.load(ctx, r, r.order[:1], names, known); err != nil {
		return err
	}
	// A tool whose first stage already serves head takes its base from
	// the later stages (chooseBase): they are asked about it now.
	var resume []string
	for _, name := range names {
		if versionWithCommit(view.state(r.order[0].Name, name).versions, head) != nil {
			resume = append(resume, name)
		}
	}
	if err := view.load(ctx, r, r.order[1:], resume, nil); err != nil {
		return err
	}
	remote := view.snapshot()
	shallow := repo.IsShallow()
	for _, p := range projects {
		if !slices.Contains(names, p.Name) {
			continue
		}
		bc := chooseBase(p.Name, head, r.order, remote, repo.HasCommit, shallow)
		why[p.Name] = bc.why
		if bc.set {
			bases[p.Name] = bc.base
		}
	}
	return nil
}

func stageNames(order []promote.Stage) string {
	names := make([]string, len(order))
	for i, s := range order {
		names[i] = s.Name
	}
	return strings.Join(names, " → ")
}

// toolRuns builds the report entries of the projects that changed and the
// runs of those that should release. A tool whose strays the run withdraws
// is released even when it has not changed (strays.go): the stages they
// were in lag behind.
func (r *runner) toolRuns(rep *Report, an *analysis) []*toolRun {
	res, why, remote, view := an.res, an.why, an.remote, an.view
	projects := slices.Clone(res.Projects)
	for _, p := range an.projects {
		if len(an.strays[p.Name]) > 0 && !slices.ContainsFunc(projects, func(pc changes.ProjectChange) bool { return pc.Name == p.Name }) {
			// No commit touched it since its base.
			projects = append(projects, changes.ProjectChange{Name: p.Name, Path: p.Path, Status: changes.StatusUnchanged, Head: res.Head, Base: an.bases[p.Name]})
		}
	}
	var runs []*toolRun
	for _, pc := range projects {
		strays := an.strays[pc.Name]
		if pc.Status == changes.StatusUnchanged && len(strays) == 0 {
			continue
		}
		tr := ToolReport{Name: pc.Name, Path: pc.Path, Bump: pc.Bump.String(), Reason: pc.Reason, Base: pc.Base, Head: pc.Head,
			Commits: commitSummaries(pc.Commits)}
		tr.Warnings = append(tr.Warnings, pc.Notes...)
		if w := why[pc.Name]; w != "" {
			tr.Reason = strings.TrimSpace(tr.Reason + " (" + w + ")")
		}
		switch {
		case len(strays) > 0 && pc.Status != changes.StatusRemoved:
			tr.Reason = strings.TrimSpace(strayReason(res.Head, strays) + "; " + tr.Reason)
		case pc.Status == changes.StatusNoRelease && pc.FirstRelease:
			// A project never released before goes out as 1.0.0 even when
			// none of its commits is a feat or fix: otherwise a tool added
			// with "chore: add tool" would wait for an unrelated feat
			// (stageBump decides each stage's bump).
			tr.Reason = strings.TrimSpace("never released: " + tr.Reason)
		case pc.Status == changes.StatusNoRelease:
			tr.Status = StatusNoRelease
		case pc.Status == changes.StatusRemoved:
			tr.Status = StatusRemoved
		}
		if tr.Status == "" && len(r.opts.Tools) > 0 && !slices.Contains(r.opts.Tools, pc.Name) {
			tr.Status = StatusSkipped
			tr.Reason += " (not in the tool filter)"
		}
		rep.Tools = append(rep.Tools, tr)
		if tr.Status != "" {
			continue
		}
		runs = append(runs, &toolRun{name: pc.Name, path: pc.Path, commit: res.Head, commitsBump: pc.Bump, byName: map[string]*stageRun{}})
	}
	// Point each run at its report entry (rep.Tools no longer grows).
	for _, t := range runs {
		for i := range rep.Tools {
			if rep.Tools[i].Name == t.name {
				t.rep = &rep.Tools[i]
			}
		}
		r.prepareTool(t, remote, view, an.strays[t.name])
		for _, s := range t.stages {
			s.strayChecked = an.strayChecked[t.name]
		}
	}
	return runs
}

// prepareTool resolves the tool's settings and lays out its stages.
func (r *runner) prepareTool(t *toolRun, remote map[string]map[string]remoteState, view *remoteView, strays []stray) {
	t.rep.Stages = make([]StageReport, len(r.order))
	for i, st := range r.order {
		s := &stageRun{spec: st, first: i == 0, api: r.apis[st.Name], rep: &t.rep.Stages[i], done: make(chan struct{})}
		s.rep.Stage = st.Name
		s.rep.Region = st.Region
		s.rep.Status = StatusPending
		if remote != nil {
			s.remote = remote[st.Name][t.name]
			// The strays are withdrawn before the stage starts.
			s.remote.versions = withoutStrays(s.remote.versions, strays, st.Name)
			if s.remote.known {
				s.see(s.remote.versions)
			}
		}
		if view != nil && s.remote.tool == nil {
			s.remote.tool = view.tool(st.Name, t.name)
		}
		s.listed = view.listed(st.Name)
		// What the analysis knows of the stage decides its bump already
		// (the versions step decides again from the live list), so a first
		// release that fails before publishing still reports major.
		if s.remote.known || (s.listed && s.remote.tool == nil) {
			s.rep.Bump = string(stageBump(t.commitsBump, s.remote.versions))
		}
		t.stages = append(t.stages, s)
		t.byName[st.Name] = s
	}
	p := changes.Project{Name: t.name, Path: t.path}
	var missing []string
	settings, err := r.resolveSettings(p, &missing)
	if err != nil {
		t.settingsErr = err
		t.rep.Error = r.log.mask(err.Error())
		return
	}
	for _, k := range missing {
		t.rep.Warnings = append(t.rep.Warnings, fmt.Sprintf("environment variable %s is not set: a run needs it (from_env); the plan goes on without its value", k))
	}
	t.resolved = settings
	t.settings = toolSettingsFrom(settings)
	if sv := settings.SecretValues(); len(sv) > 0 {
		if r.opts.OnSecrets != nil {
			r.opts.OnSecrets(sv)
		}
		r.log.addSecrets(sv)
	}
}

// checkFilter warns about tool filter entries that name no project.
func (r *runner) checkFilter(rep *Report, projects []changes.Project) {
	for _, name := range r.opts.Tools {
		found := false
		for _, p := range projects {
			if p.Name == name {
				found = true
			}
		}
		if !found {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("tool filter names %q, which is not a tool project in this repository", name))
		}
	}
}

// finishTool sets the tool's overall status and drift and writes its log
// group.
func (r *runner) finishTool(t *toolRun) {
	t.rep.Status = toolStatus(t.rep)
	t.rep.Drift = driftOf(t.rep.Stages, t.commit)
	summarizeBump(t.rep)
	if t.rep.Error == "" {
		for _, s := range t.rep.Stages {
			if s.Status == StatusFailed {
				t.rep.Error = fmt.Sprintf("%s: %s", s.Stage, s.Error)
				break
			}
		}
	}
	title := fmt.Sprintf("%s: %s", t.name, t.rep.Status)
	for _, s := range t.rep.Stages {
		if s.VersionAfter != "" {
			title += fmt.Sprintf(" %s=%s", s.Stage, s.VersionAfter)
		}
	}
	if t.rep.Drift != "" {
		r.log.step(levelWarning, t.name, "-", "drift", t.rep.Drift, 0)
	}
	r.log.flush(t.name, title)
}

// toolStatus sums up a tool's stages.
func toolStatus(tr *ToolReport) Status {
	if tr.Error != "" && len(tr.Stages) > 0 && tr.Stages[0].Status == StatusPending {
		return StatusFailed
	}
	has := map[Status]bool{}
	for _, s := range tr.Stages {
		has[s.Status] = true
	}
	switch {
	case has[StatusFailed]:
		return StatusFailed
	case has[StatusUnknown]:
		return StatusUnknown
	case has[StatusBlocked]:
		return StatusBlocked
	case has[StatusPending]:
		return StatusPending
	case has[StatusPlanned]:
		return StatusPlanned
	case has[StatusReleased]:
		return StatusReleased
	case has[StatusUpToDate]:
		return StatusUpToDate
	default:
		return StatusSkipped
	}
}

// count adds to the run's Stats.
func (r *runner) count(f func(*Stats)) {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	f(&r.stats)
}

// haltRun stops every tool: nothing new starts and waits end.
func (r *runner) haltRun(reason string) {
	r.haltMu.Lock()
	if r.haltReason == "" {
		r.haltReason = reason
		r.log.Warningf("halting the run: %s", reason)
	}
	r.haltMu.Unlock()
	r.haltCancel()
}

// interrupt stops the run at an interrupt (Options.Stop): nothing new
// starts, waits end; calls in flight go on until ctx ends.
func (r *runner) interrupt() {
	if r.stopped.Swap(true) {
		return
	}
	r.log.Warningf("interrupted: nothing new starts; calls in flight may finish, then the report says what is done, pending and unknown")
	r.haltMu.Lock()
	if r.haltReason == "" {
		r.haltReason = "interrupted"
	}
	r.haltMu.Unlock()
	r.haltCancel()
}

// interrupted reports whether an interrupt stopped the run.
func (r *runner) interrupted() bool { return r.stopped.Load() }

// errHalted is the error of work not done because the run was halted.
var errHalted = errors.New("run halted")

// errInterrupted is the error of work not started because of an interrupt.
var errInterrupted = errors.New("interrupted")

// haltErr returns why new work must not start, or nil.
func (r *runner) haltErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.haltCtx.Err() != nil {
		if r.interrupted() {
			return fmt.Errorf("%w (SIGINT or SIGTERM): nothing new started; a rerun finishes it", errInterrupted)
		}
		r.haltMu.Lock()
		defer r.haltMu.Unlock()
		return fmt.Errorf("%w: %s", errHalted, r.haltReason)
	}
	return nil
}

// sortTools orders tools for the test queue: the most work left first,
// then by name.
func sortTools(tools []*toolRun, chain func(*toolRun) time.Duration) []*toolRun {
	out := slices.Clone(tools)
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := chain(out[i]), chain(out[j])
		if ci != cj {
			return ci > cj
		}
		return out[i].name < out[j].name
	})
	return out
}

package pipeline

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// The test queue is the one resource a release cannot have more of (one
// test-tool call a minute per server and user), so it must not idle while
// the analysis reads every project's versions (50 a minute: 150 projects
// take two minutes). test-tool needs no tool id, only the project, its
// branch, envvars and inputs, all known locally. So the test queues start
// before the analysis, and the early feed gives them a tool as soon as the
// analysis knows it releases: its first stage's versions give its base,
// change detection of that one project says it changed, its settings
// resolve. The analysis asks about the projects in the queue's order (the
// longest expected remaining work first), so the first test goes out
// within seconds. Tests are not mutating calls: the all-or-nothing checks
// (preflight.go) still come before the first create or publish, and a run
// that cannot start wastes at most the tests already sent.

// testQueues are the run's test queues, one per server and user, started
// before the analysis and closed once every test-gated stage's tests are
// queued.
type testQueues struct {
	r    *runner
	ctx  context.Context // the calls: cancelled when the run ends early
	halt context.Context // no new call: the run's halt, or ended early
	stop context.CancelFunc

	mu    sync.Mutex
	byKey map[string]*testQueue
	keys  []string
	early map[string]*testJob // tool + "\x00" + stage: queued by the feed
	wg    sync.WaitGroup
}

// startTests starts the run's test queues (empty; see feed and queueTests).
func (r *runner) startTests(ctx context.Context) *testQueues {
	tq := &testQueues{r: r, byKey: map[string]*testQueue{}, early: map[string]*testJob{}}
	var cancelCalls context.CancelFunc
	tq.ctx, cancelCalls = context.WithCancel(ctx)
	var cancelHalt context.CancelFunc
	tq.halt, cancelHalt = context.WithCancel(r.haltCtx)
	tq.stop = func() { cancelHalt(); cancelCalls() }
	return tq
}

// queue returns the queue of st's server and user, started on first use.
func (tq *testQueues) queue(st promote.Stage) *testQueue {
	k := tq.r.queueKey(st)
	tq.mu.Lock()
	defer tq.mu.Unlock()
	q := tq.byKey[k]
	if q == nil {
		q = newTestQueue(tq.r.apis[st.Name])
		tq.byKey[k] = q
		tq.keys = append(tq.keys, k)
		tq.wg.Add(1)
		go func() {
			defer tq.wg.Done()
			q.run(tq.ctx, tq.halt, tq.r.policy, tq.r.opts.TestDispatchSpacing)
		}()
	}
	return q
}

func earlyKey(tool, stage string) string { return tool + "\x00" + stage }

// submitEarly queues a test the feed found.
func (tq *testQueues) submitEarly(st promote.Stage, j *testJob) {
	tq.mu.Lock()
	if _, dup := tq.early[earlyKey(j.tool, st.Name)]; dup {
		tq.mu.Unlock()
		return
	}
	tq.early[earlyKey(j.tool, st.Name)] = j
	tq.mu.Unlock()
	tq.queue(st).add(j)
}

// takeEarly returns (and forgets) the job the feed queued for tool in
// stage, if any.
func (tq *testQueues) takeEarly(tool, stage string) *testJob {
	tq.mu.Lock()
	defer tq.mu.Unlock()
	j := tq.early[earlyKey(tool, stage)]
	delete(tq.early, earlyKey(tool, stage))
	return j
}

// reprioritize sets j's priority (the analysis now knows more), under its
// queue's lock.
func (tq *testQueues) reprioritize(st promote.Stage, j *testJob, prio time.Duration) {
	q := tq.queue(st)
	q.mu.Lock()
	j.prio = prio
	q.mu.Unlock()
}

// closeAll says no test will be added: the queues end when they are empty.
// The feed's tests that no stage took (the tool does not release after
// all) are cancelled.
func (tq *testQueues) closeAll() {
	tq.mu.Lock()
	for _, j := range tq.early {
		j.cancel()
	}
	tq.early = map[string]*testJob{}
	qs := make([]*testQueue, 0, len(tq.byKey))
	for _, k := range tq.keys {
		qs = append(qs, tq.byKey[k])
	}
	tq.mu.Unlock()
	for _, q := range qs {
		q.close()
	}
}

// wait waits for every queue to end.
func (tq *testQueues) wait() { tq.wg.Wait() }

// abort ends the queues of a run that does not go on (it could not start):
// nothing more is sent, calls in flight are cancelled (a test changes
// nothing), and it returns when the queues have ended.
func (tq *testQueues) abort() {
	if tq == nil {
		return
	}
	tq.closeAll()
	tq.stop()
	tq.wait()
}

// earlyFeed decides, project by project as the analysis learns their
// first stage, which tools release, and queues their tests. It runs in one
// goroutine, in the order the projects are offered, and keeps at most
// earlyAhead tests waiting in the queues that were not yet sent: the
// queues send one a minute, so there is no hurry, and every early
// detection holds the repository a moment the full analysis also needs.
type earlyFeed struct {
	r        *runner
	tq       *testQueues
	head     string
	view     *remoteView
	det      *earlyDetections
	projects map[string]changes.Project
	ranks    map[string]int
	// order is the order the projects are decided in: the queue's.
	order []string

	mu    sync.Mutex
	known map[string]bool // offered
	wake  chan struct{}
	done  chan struct{}
	quit  chan struct{}
	once  sync.Once
}

// earlyAhead is how many early tests may wait unsent in the queues.
const earlyAhead = 3

// startFeed starts the early feed over projects; nil when the run sends no
// test (plan mode, dry runs, offline, no test-gated stage), or when a
// check before the first mutating call could still stop the run (see
// earlyAllowed): then the tests wait for the full analysis, as a run that
// does not start sends none.
func (r *runner) startFeed(tq *testQueues, det *earlyDetections, head string, view *remoteView, projects []changes.Project, problems bool) *earlyFeed {
	if tq == nil || !slices.ContainsFunc(r.order, func(st promote.Stage) bool { return st.Test }) || !r.earlyAllowed(view, projects, problems) {
		return nil
	}
	f := &earlyFeed{r: r, tq: tq, head: head, view: view, det: det,
		projects: map[string]changes.Project{}, ranks: map[string]int{}, known: map[string]bool{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), quit: make(chan struct{})}
	names := make([]string, len(projects))
	for i, p := range projects {
		f.projects[p.Name] = p
		names[i] = p.Name
	}
	f.order = slices.Clone(names)
	sort.Strings(names)
	for i, n := range names {
		f.ranks[n] = i
	}
	go f.loop()
	return f
}

// earlyAllowed reports whether no check before the first mutating call can
// fail once the analysis has listed every stage's tools: the checks that
// come after the analysis (checkTools) look at each releasing tool's
// settings and at envvars its project requires that neither the
// configuration nor (in a stage without a test gate) the tool provides.
// Every project is checked here, releasing or not, so that an early test
// never goes out in a run that then does not start. A project at head that
// cannot be a tool (problems) stops the run when the range releases it or
// the configuration names it (checkProblems), which only the full
// detection tells: then the tests wait for it.
func (r *runner) earlyAllowed(view *remoteView, projects []changes.Project, problems bool) bool {
	if view == nil || problems {
		return false
	}
	for _, st := range r.order {
		if !view.listed(st.Name) {
			return false
		}
	}
	for _, p := range projects {
		var missing []string
		settings, err := r.resolveSettings(p, &missing)
		if err != nil {
			return false
		}
		for _, st := range r.order {
			if slices.Contains(settings.SkipStages, st.Name) {
				continue
			}
			var onTool []string
			if tl := view.tool(st.Name, p.Name); !st.Test && tl != nil {
				onTool = append(slices.Clone(tl.Envvars), tl.SecretEnvvars...)
			}
			if len(settings.MissingEnvvars(onTool)) > 0 {
				return false
			}
		}
	}
	return true
}

// offer tells the feed that name's first stage is known (or, with
// --base, that nothing more is needed). Safe from any goroutine.
func (f *earlyFeed) offer(stage, name string) {
	if f == nil || stage != f.r.order[0].Name {
		return
	}
	f.mu.Lock()
	f.known[name] = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// finish stops the feed (the full analysis takes over) and waits for it.
func (f *earlyFeed) finish() {
	if f == nil {
		return
	}
	f.once.Do(func() { close(f.quit) })
	<-f.done
}

// loop decides the projects in the queue's order, each once it is known
// (the analysis reads several at a time, so they arrive a little out of
// order): the tests are queued in the order they are to go out.
func (f *earlyFeed) loop() {
	defer close(f.done)
	for _, name := range f.order {
		for {
			f.mu.Lock()
			ok := f.known[name]
			f.mu.Unlock()
			if ok {
				break
			}
			select {
			case <-f.wake:
			case <-f.quit:
				return
			}
		}
		if !f.wait() {
			return
		}
		f.decide(name)
	}
}

// wait holds the feed while earlyAhead tests wait unsent; false when the
// feed is to stop.
func (f *earlyFeed) wait() bool {
	for {
		select {
		case <-f.quit:
			return false
		case <-f.tq.halt.Done():
			return false
		default:
		}
		f.tq.mu.Lock()
		n := 0
		for _, q := range f.tq.byKey {
			n += q.waiting()
		}
		f.tq.mu.Unlock()
		if n < earlyAhead {
			return true
		}
		t := f.r.clk.NewTimer(time.Second)
		select {
		case <-t.C():
		case <-f.quit:
			t.Stop()
			return false
		}
	}
}

// decide queues the tests of name if it releases: its base (the first
// stage's newest version, else the event's before; a tool whose first
// stage already serves head resumes and waits for the full analysis),
// this project's change, its settings. Anything unclear is left to the
// full analysis, which queues what the feed did not.
func (f *earlyFeed) decide(name string) {
	r := f.r
	p, ok := f.projects[name]
	if !ok || len(r.opts.Tools) > 0 && !slices.Contains(r.opts.Tools, name) {
		return
	}
	if r.opts.Base == "" {
		first := f.view.state(r.order[0].Name, name)
		if n := newest(first.versions); first.known && n != nil && sameCommit(n.ToolCommitHash, f.head) {
			return // resumes: its base depends on the later stages
		}
	}
	pc, touched, ok := f.det.change(f.tq.ctx, name)
	if !ok || !touched || !releases(pc) {
		return
	}
	var missing []string
	settings, err := r.resolveSettings(p, &missing)
	if err != nil {
		return
	}
	if sv := settings.SecretValues(); len(sv) > 0 {
		if r.opts.OnSecrets != nil {
			r.opts.OnSecrets(sv)
		}
		r.log.addSecrets(sv)
	}
	ts := toolSettingsFrom(settings)
	t := &toolRun{name: name, path: p.Path, commit: f.head, settings: ts, byName: map[string]*stageRun{}}
	for i, st := range r.order {
		if !st.Test || slices.Contains(ts.SkipStages, st.Name) {
			continue
		}
		j := r.testJobFor(t, st, i, f.ranks[name], len(f.ranks))
		f.tq.submitEarly(st, j)
	}
}

// testJobFor is the test job of tool t in stage st (the i-th of the plan),
// with its priority: the work left to t once the test has passed.
func (r *runner) testJobFor(t *toolRun, st promote.Stage, i, rank, tools int) *testJob {
	plain, secret := envvarMaps(t.settings.Envvars)
	req := testRequest(t, st, plain, secret)
	j := newTestJob(r.apis[st.Name], req)
	j.tool, j.stage = t.name, st.Name
	j.prio = remainingWork(r.order, r.est, t, st.Name)
	j.rank = i*(tools+1) + rank
	return j
}

// expectedOrder sorts project names as the test queue will take them: the
// longest expected remaining work from the first test-gated stage first,
// then by name. The analysis asks about them in this order.
func (r *runner) expectedOrder(projects []changes.Project) []changes.Project {
	from := ""
	for _, st := range r.order {
		if st.Test {
			from = st.Name
			break
		}
	}
	out := slices.Clone(projects)
	if from == "" {
		return out
	}
	work := map[string]time.Duration{}
	for _, p := range out {
		work[p.Name] = remainingWork(r.order, r.est, &toolRun{name: p.Name, byName: map[string]*stageRun{}}, from)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if work[out[i].Name] != work[out[j].Name] {
			return work[out[i].Name] > work[out[j].Name]
		}
		return strings.Compare(out[i].Name, out[j].Name) < 0
	})
	return out
}

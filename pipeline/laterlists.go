package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/amigo-release/amigo-release/changes"
)

// laterLists lists the later stages of the projects the analysis' stray
// check looks at (findStrays: those this run does not release from a first
// stage that does not serve head) beside the first stage's lists, not after
// the whole detection: as each project's first stage comes in (its base is
// known), a decider tells whether the run releases it (a detection of that
// project alone, which the early test feed shares: earlyDetections) and
// queues its later stages at once when it does not. The lists go through
// the same clients and pacers, loadWorkers at a time per stage, and each
// name is listed once per stage (loadName). The decider stops when the full
// detection starts; finish then queues every project the stray check needs
// that it had not (a guess of the decider's that the full detection
// contradicts costs calls, never a check: a project it took for released is
// queued by finish, one it took for unchanged is only listed where its
// chain would list it anyway) and returns when every list has ended, before
// loadForStages and findStrays.
type laterLists struct {
	r    *runner
	view *remoteView
	head string
	det  *earlyDetections

	offered chan string   // names whose first stage is known, as they come
	quit    chan struct{} // the decider stops
	decided chan struct{} // closed when the decider has stopped

	mu     sync.Mutex
	queued map[string]bool
	closed bool
	queues []chan string // per later stage

	cancel context.CancelFunc // ends the lists of an analysis that failed
	wg     sync.WaitGroup
	errs   []error // per later stage
}

// startLaterLists starts the later stages' loaders and the decider over
// projects; nil where there is no later stage or no server.
func (r *runner) startLaterLists(ctx context.Context, view *remoteView, det *earlyDetections, head string, projects []changes.Project) *laterLists {
	if view == nil || len(r.order) < 2 {
		return nil
	}
	n := len(projects)
	ctx, cancel := context.WithCancel(ctx)
	l := &laterLists{r: r, cancel: cancel, view: view, head: head, det: det,
		offered: make(chan string, n), quit: make(chan struct{}), decided: make(chan struct{}),
		queued: map[string]bool{}, errs: make([]error, len(r.order)-1)}
	for i, st := range r.order[1:] {
		q := make(chan string, n)
		l.queues = append(l.queues, q)
		l.wg.Go(func() {
			if err := view.loadFrom(ctx, r, st, q, nil); err != nil {
				l.errs[i] = fmt.Errorf("stage %s (%s): %w", st.Name, st.BaseURL, err)
			}
		})
	}
	go l.decide(ctx, n)
	return l
}

// offer tells the decider that name's first stage is known (the first
// stage's load calls it for each project). Safe from any goroutine.
func (l *laterLists) offer(stage, name string) {
	if l == nil || stage != l.r.order[0].Name {
		return
	}
	select {
	case l.offered <- name:
	default: // offered already: the channel holds one per project
	}
}

// decide queues, in the order they come, the projects this run does not
// release from scratch, until stop.
func (l *laterLists) decide(ctx context.Context, n int) {
	defer close(l.decided)
	for range n {
		select {
		case name := <-l.offered:
			if l.notReleased(ctx, name) {
				l.queue(name)
			}
		case <-l.quit:
			return
		}
	}
}

// notReleased reports a project the full analysis will look at for strays
// (see releasesFromScratch), as far as its first stage and a detection of
// it alone tell: every project in plan mode and dry runs, one the tool
// filter leaves out, one whose first stage serves head, one whose change
// does not release (or that the range did not touch). A detection that
// fails says nothing (false).
func (l *laterLists) notReleased(ctx context.Context, name string) bool {
	r := l.r
	if r.opts.readOnly() || len(r.opts.Tools) > 0 && !slices.Contains(r.opts.Tools, name) {
		return true
	}
	first := l.view.state(r.order[0].Name, name)
	if !first.known {
		return false
	}
	if versionWithCommit(first.versions, l.head) != nil {
		return true
	}
	pc, touched, ok := l.det.change(ctx, name)
	return ok && (!touched || !releases(pc))
}

// queue lists name's later stages (once).
func (l *laterLists) queue(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.queued[name] {
		return
	}
	l.queued[name] = true
	for _, q := range l.queues {
		q <- name // room for every project
	}
}

// stop stops the decider (the full detection takes over) and waits for it.
func (l *laterLists) stop() {
	if l == nil {
		return
	}
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.decided
}

// finish stops the decider, queues the projects of look it did not, and
// returns once every later stage's list has ended.
func (l *laterLists) finish(look []changes.Project) error {
	if l == nil {
		return nil
	}
	l.stop()
	for _, p := range look {
		l.queue(p.Name)
	}
	l.close()
	l.wg.Wait()
	l.cancel()
	return errors.Join(l.errs...)
}

// close ends the loaders once their queues are empty.
func (l *laterLists) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	for _, q := range l.queues {
		close(q)
	}
}

// abandon ends a laterLists whose analysis failed: the decider stops, the
// queued lists end, and it returns when they have.
func (l *laterLists) abandon() {
	if l == nil {
		return
	}
	l.cancel()
	l.stop()
	l.close()
	l.wg.Wait()
}

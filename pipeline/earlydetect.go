package pipeline

import (
	"context"
	"sync"

	"github.com/amigo-release/amigo-release/changes"
)

// earlyDetections detects, once per project, that project alone from the
// base its first stage gives (or --base), before the full detection: the
// early test feed (early.go) and the later stages' lists (laterlists.go)
// both decide from it as each project's first stage comes in, and a
// project both look at is detected once. The full detection decides in
// the end; a project whose first stage is not known yet, or whose
// detection fails, is unclear (ok false) and left to it.
type earlyDetections struct {
	r     *runner
	repo  *changes.Repo
	head  string
	copts changes.Options
	view  *remoteView

	mu     sync.Mutex
	byName map[string]*earlyDetection
}

type earlyDetection struct {
	once    sync.Once
	pc      changes.ProjectChange
	touched bool // the range touched the project (else pc is zero)
	ok      bool
}

func (r *runner) newEarlyDetections(repo *changes.Repo, head string, copts changes.Options, view *remoteView) *earlyDetections {
	return &earlyDetections{r: r, repo: repo, head: head, copts: copts, view: view, byName: map[string]*earlyDetection{}}
}

// change returns name's change and whether the range touched it; ok is
// false when that is unclear. The first call once name's first stage is
// known detects; the others wait for it and get its answer.
func (d *earlyDetections) change(ctx context.Context, name string) (pc changes.ProjectChange, touched, ok bool) {
	base, known := d.base(name)
	if !known {
		return changes.ProjectChange{}, false, false
	}
	d.mu.Lock()
	e := d.byName[name]
	if e == nil {
		e = &earlyDetection{}
		d.byName[name] = e
	}
	d.mu.Unlock()
	e.once.Do(func() {
		res, err := changes.Detect(ctx, d.repo, changes.Request{Head: d.head, Options: d.copts, Bases: map[string]string{name: base}, DefaultBase: d.head})
		if err != nil {
			return
		}
		// A project the range did not touch is not in the result (no
		// full discovery).
		e.pc, e.touched = res.Project(name)
		e.ok = true
	})
	return e.pc, e.touched, e.ok
}

// base is name's base: --base, else what its first stage gives (its
// newest version's commit, else the event's before); false while its
// first stage is not known.
func (d *earlyDetections) base(name string) (string, bool) {
	r := d.r
	if r.opts.Base != "" {
		return r.opts.Base, true
	}
	first := d.view.state(r.order[0].Name, name)
	if !first.known {
		return "", false
	}
	bc := chooseBase(name, d.head, r.order[:1], map[string]map[string]remoteState{r.order[0].Name: {name: first}}, d.repo.HasCommit, d.repo.IsShallow())
	if !bc.set {
		return r.opts.EventBefore, true
	}
	return bc.base, true
}

package pipeline

import (
	"context"
	"sync"
	"testing"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/promote"
)

// The early test feed and the later stages' lists ask about the same
// project: it is detected once, and every caller gets that answer, even
// one whose context has ended since (a second detection would fail).
// A project whose first stage is not known yet is unclear, and is not
// remembered so.
func TestEarlyDetections_oneDetectionPerProject(t *testing.T) {
	repo := testkit.NewRepo(t)
	base := repo.Commit("feat: weather", testkit.Project("tools/weather", "weather", ""))
	head := repo.Commit("feat: weather knows the wind", testkit.Touch("tools/weather", "wind"))
	cr, err := changes.Open(repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	copts, err := changesOptions(promote.Discovery{})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{opts: &Options{EventBefore: base}, order: []promote.Stage{{Name: "us"}, {Name: "eu"}}}
	view := newRemoteView()
	view.states["us"] = map[string]remoteState{}
	d := r.newEarlyDetections(cr, head, copts, view)

	if _, _, ok := d.change(t.Context(), "weather"); ok {
		t.Fatal("a project whose first stage is not known: ok, want unclear")
	}
	view.states["us"]["weather"] = remoteState{known: true} // no tool yet: the base is the event's before
	var wg sync.WaitGroup
	answers := make([]changes.ProjectChange, 4)
	for i := range answers {
		wg.Go(func() {
			pc, touched, ok := d.change(t.Context(), "weather")
			if !ok || !touched {
				t.Errorf("caller %d: touched %v, ok %v; want a detection that touched weather", i, touched, ok)
			}
			answers[i] = pc
		})
	}
	wg.Wait()
	for i, pc := range answers {
		if !releases(pc) || pc.Bump != answers[0].Bump {
			t.Errorf("caller %d: %s %s, want the same released change as caller 0 (%s)", i, pc.Status, pc.Bump, answers[0].Bump)
		}
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if pc, _, ok := d.change(ended, "weather"); !ok || pc.Bump != answers[0].Bump {
		t.Errorf("after the detection, with an ended context: %s, ok %v; want the remembered answer", pc.Bump, ok)
	}
	if _, _, ok := r.newEarlyDetections(cr, head, copts, view).change(ended, "weather"); ok {
		t.Error("a first detection with an ended context: ok, want unclear (else the test above proves nothing)")
	}
}

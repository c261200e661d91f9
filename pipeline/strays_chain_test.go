package pipeline_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Issue 15, item 4, over HTTP: a release of six existing tools through four
// stages, counted from the emulators' request logs (every request, the
// sign-ins and tool pages included), costs at most 12 calls per tool: the
// later stages are not listed before their publish (their stray check is
// verify's list after it, strays.go), and every stage still verifies the
// commit it serves.
func TestRun_callsPerReleasedToolOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
		h := newBubbleHarness(t, amigotest.Options{}, "us", "eu", "ap", "ca")
		files, fixes := testkit.Projects(names...), testkit.Touches("fixed", names...)
		first := h.commit("feat: tools", files)
		head := h.commit("fix: every tool", fixes)
		for _, srv := range h.servers {
			for _, n := range names {
				// As an earlier release left it (its description too).
				id, err := srv.AddTool(org, amigotest.SeedTool{Name: n, Description: "The " + n + " tool."})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: "1.0.0", Commit: first, ProjectDirectory: "tools/" + n}); err != nil {
					t.Fatal(err)
				}
			}
		}
		rep := h.run(h.chain(""), nil)
		if !rep.OK() {
			t.Fatalf("not OK:\n%s", h.log)
		}
		total, byOp := 0, map[string]int{}
		for _, srv := range h.servers {
			for _, r := range srv.Requests() {
				total++
				byOp[r.OperationID]++
			}
		}
		if per := float64(total) / float64(len(names)); per > 12 {
			t.Errorf("%d calls for %d tools: %.2f a tool, want at most 12 (%v)", total, len(names), per, byOp)
		}
		if got, want := byOp[amigotest.OpListVersions], 5*len(names); got != want {
			t.Errorf("%d lists of versions, want %d: the first stage's in the analysis and verify's in each stage (%v)", got, want, byOp)
		}
		for _, tr := range rep.Tools {
			for _, st := range tr.Stages {
				verified := slices.ContainsFunc(st.Steps, func(s pipeline.StepReport) bool { return s.Name == "verify" && s.Status == pipeline.StatusDone })
				if st.Status != pipeline.StatusReleased || st.CommitHash != head || !verified {
					t.Errorf("%s in %s: %s, commit %s, verified %v; want released, %s verified", tr.Name, st.Stage, st.Status, st.CommitHash, verified, changes.ShortSHA(head))
				}
			}
		}
	})
}

// A released tool whose chain stops before the stages that hold a stray (a
// version an earlier, killed run left serving untested beyond the first
// stage) still gets them withdrawn: the analysis no longer lists the later
// stages of a tool it releases, so the chain's end (sweepStrays) lists
// each stage that neither the analysis nor a verify looked at, and
// withdraws what it finds. Here ap and ca serve 1.0.1 of a commit pushed
// while an earlier run's publish was building, which eu never served, and
// the chain stops at the test in us, or at the publish in ap.
func TestRun_strayBeyondWhereAReleasedToolsChainStopsIsWithdrawn(t *testing.T) {
	for _, c := range []struct {
		name    string
		failOn  string // stage
		op      string
		stopped string // the stage whose failure stops the chain
	}{
		{"test fails in us", "us", amigotest.OpTestTool, "us"},
		{"publish fails in ap", "ap", amigotest.OpPublishVersion, "ap"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newSimRepo(t, "us", "eu", "ap", "ca")
			tested := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
			untested := h.commit("chore: pushed while ap's publish was building", map[string]string{"README.md": "moved\n"})
			h.commit("fix(weather): retry", testkit.Touch("weather", "retry"))
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				s.seed(tested, "weather")
				for _, st := range []string{"ap", "ca"} {
					if _, err := s.servers[st].Seed(org, amigotest.SeedTool{Name: "weather"}, "tools/weather", "1.0.1@"+untested); err != nil {
						t.Fatal(err)
					}
				}
				s.servers[c.failOn].FailNext(c.op, 1, http.StatusBadRequest, `{"detail":"tool build has failed"}`)
				rep, _ := s.runErr(s.plan("  on_failure: halt\n"), nil)
				tr := tool(t, rep, "weather")
				if st := stage(t, tr, c.stopped); st.Status != pipeline.StatusFailed {
					t.Fatalf("%s: %s, want failed (the chain stops there)\n%s", c.stopped, st.Status, h.log)
				}
				for _, sn := range []string{"ap", "ca"} {
					st := stage(t, tr, sn)
					if !slices.Equal(st.Withdrawn, []string{"1.0.1"}) {
						t.Errorf("%s: withdrawn %v, want [1.0.1] (the stray)\n%s", sn, st.Withdrawn, h.log)
					}
					id, _ := s.servers[sn].ToolByName(org, "weather")
					if got := s.servers[sn].ActiveVersions(org, id.ID); slices.Contains(got, "1.0.1") {
						t.Errorf("%s still serves the untested 1.0.1: %v", sn, got)
					}
				}
				if rep.Stats.Withdrawn != 2 {
					t.Errorf("stats withdrawn %d, want 2\n%s", rep.Stats.Withdrawn, h.log)
				}
				// Each later stage listed once: by verify (eu, where the
				// chain got through), by the failed publish, or by the
				// sweep.
				for _, sn := range []string{"eu", "ap", "ca"} {
					n := 0
					for _, r := range s.servers[sn].Requests() {
						if r.OperationID == amigotest.OpListVersions {
							n++
						}
					}
					if n != 1 {
						t.Errorf("%s: %d lists of versions, want 1", sn, n)
					}
				}
			})
		})
	}
}

// A stray stays a stray after a release reached the stage it needs but not
// its own (the run that released was killed between the two): eu now
// serves head, of which the stray's commit is an ancestor, so the stage no
// longer looks ahead of eu; but eu still serves an older commit of that
// history and never served the stray's (isStray). The next run, from the
// same head (us serves it: a resume, listed by the analysis), withdraws
// it and finishes the release.
func TestRun_strayHiddenByALaterReleaseOfItsNeededStageIsWithdrawn(t *testing.T) {
	h := newSimRepo(t, "us", "eu", "ap", "ca")
	tested := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	untested := h.commit("chore: pushed while ap's publish was building", map[string]string{"README.md": "moved\n"})
	head := h.commit("fix(weather): retry", testkit.Touch("weather", "retry"))
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		for sn, vs := range map[string][]string{
			"us": {"1.0.0@" + tested, "1.0.1@" + head},
			"eu": {"1.0.0@" + tested, "1.0.1@" + head},
			"ap": {"1.0.0@" + tested, "1.0.1@" + untested},
			"ca": {"1.0.0@" + tested},
		} {
			if _, err := s.servers[sn].Seed(org, amigotest.SeedTool{Name: "weather"}, "tools/weather", vs...); err != nil {
				t.Fatal(err)
			}
		}
		rep := s.run(s.plan(""), nil)
		tr := tool(t, rep, "weather")
		ap := stage(t, tr, "ap")
		if !rep.OK() || !slices.Equal(ap.Withdrawn, []string{"1.0.1"}) || ap.CommitHash != head {
			t.Fatalf("ap: %s %s of %s, withdrawn %v; want the stray 1.0.1 withdrawn and head released\n%s", ap.Status, ap.VersionAfter, ap.CommitHash, ap.Withdrawn, h.log)
		}
		for _, sn := range []string{"ap", "ca"} {
			id, _ := s.servers[sn].ToolByName(org, "weather")
			for _, v := range s.servers[sn].Versions(org, id.ID) {
				if !v.Deprecated && v.ToolCommitHash == untested {
					t.Errorf("%s serves %s of the untested commit", sn, v.Version)
				}
			}
		}
	})
}

// The later stages' lists of the tools a run does not release (the
// analysis' stray check needs them before anything changes) go out beside
// the first stage's lists, as each tool's first stage comes in, not after
// the detection of every project: with many unchanged tools and one
// changed, those lists end with the first stage's (each stage is its own
// server, with its own limits), so the first publish waits for none of
// them. Counted on the emulators' clocks in a bubble, with the clients'
// pacers at the emulators' default (documented) limits.
func TestRun_laterStageListsOfUnchangedToolsOverlapTheFirstStage(t *testing.T) {
	const unchanged = 80
	h := newSimRepo(t, "us", "eu", "ap", "ca")
	var names []string
	for i := range unchanged {
		names = append(names, fmt.Sprintf("calm%02d", i))
	}
	files := testkit.Projects(append(names, "weather")...)
	tested := h.commit("feat: tools", files)
	h.commit("fix(weather): retry", testkit.Touch("weather", "retry"))
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(tested, append(names, "weather")...)
		start := time.Now()
		rep := s.run(s.plan(""), nil)
		if !rep.OK() {
			t.Fatalf("not OK:\n%s", h.log)
		}
		var firstPublish time.Time
		for _, st := range h.stages {
			for _, r := range s.servers[st].Requests() {
				if r.OperationID == amigotest.OpPublishVersion && (firstPublish.IsZero() || r.Time.Before(firstPublish)) {
					firstPublish = r.Time
				}
			}
		}
		var lastFirst, firstLater, lastLater time.Time
		for _, r := range s.servers["us"].Requests() {
			if r.OperationID == amigotest.OpListVersions && r.Time.Before(firstPublish) {
				lastFirst = r.Time
			}
		}
		later := 0
		for _, st := range []string{"eu", "ap", "ca"} {
			for _, r := range s.servers[st].Requests() {
				if r.OperationID != amigotest.OpListVersions || !r.Time.Before(firstPublish) {
					continue
				}
				later++
				if firstLater.IsZero() || r.Time.Before(firstLater) {
					firstLater = r.Time
				}
				if r.Time.After(lastLater) {
					lastLater = r.Time
				}
			}
		}
		t.Logf("the first stage's lists end at %v; %d later lists from %v to %v; the first publish ends at %v", lastFirst.Sub(start), later, firstLater.Sub(start), lastLater.Sub(start), firstPublish.Sub(start))
		if later != 3*unchanged {
			t.Errorf("%d later lists before the first publish, want %d: each unchanged tool's later stages, once", later, 3*unchanged)
		}
		// Each stage is its own server with its own limit: the later
		// lists go beside the first stage's and end with them, where
		// listing them after the detection adds a window of the limit.
		if !firstLater.Before(lastFirst) {
			t.Errorf("the later lists start at %v, after the first stage's last at %v: they waited for the detection", firstLater.Sub(start), lastFirst.Sub(start))
		}
		if lastLater.After(lastFirst.Add(5 * time.Second)) {
			t.Errorf("the later lists end at %v, beyond the first stage's at %v: the first publish waits for them", lastLater.Sub(start), lastFirst.Sub(start))
		}
		if tr := tool(t, rep, "weather"); tr.Status != pipeline.StatusReleased {
			t.Errorf("weather: %s, want released", tr.Status)
		}
		for _, tr := range rep.Tools {
			if tr.Name != "weather" && tr.Status == pipeline.StatusReleased {
				t.Errorf("%s released, want left alone", tr.Name)
			}
		}
	})
}

package pipeline_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Issue 15, item 1: the test queue does not wait for the analysis. With
// 120 projects, reading every project's versions in the first stage takes
// two minutes (50 list-versions calls a minute), but test-tool needs no
// tool id: the first test goes out within seconds of the run's start,
// while the analysis goes on beside it, and every test is still sent once.
func TestRun_firstTestDoesNotWaitForTheAnalysis(t *testing.T) {
	const n = 120
	h := newSimRepo(t, "us", "eu")
	files := map[string]string{}
	var names []string
	for i := range n {
		name := fmt.Sprintf("tool_%03d", i)
		names = append(names, name)
		files = testkit.Files(files, testkit.Project(name, name, ""))
	}
	first := h.commit("feat: the tools", files)
	changed := map[string]string{}
	for _, name := range names {
		changed = testkit.Files(changed, testkit.Touch(name, "v2"))
	}
	h.commit("fix: every tool", changed)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, names...)
		rep := s.run(s.plan(""), nil)
		if !rep.OK() {
			t.Fatalf("not OK:\n%s", h.log)
		}
		var firstTest time.Time
		for _, r := range s.servers["us"].Requests() {
			if r.OperationID == amigotest.OpTestTool {
				firstTest = r.Time
				break
			}
		}
		if d := firstTest.Sub(rep.StartedAt); d > 5*time.Second {
			t.Errorf("the first test went out %s after the run started, want within 5s", d)
		}
		// The analysis reads a burst of 50 projects' versions at once, the
		// rest a minute and two minutes later: after the first test.
		later := 0
		for _, r := range s.servers["us"].Requests() {
			if r.OperationID == amigotest.OpListVersions && r.Time.After(firstTest) && r.Time.Sub(rep.StartedAt) < 3*time.Minute {
				later++
			}
		}
		if later < n-50 {
			t.Errorf("%d of the analysis' reads came after the first test, want the %d beyond the first burst: the analysis goes on beside the tests", later, n-50)
		}
		if got := s.requests(amigotest.OpTestTool); got != n {
			t.Errorf("%d test-tool calls, want one per tool (%d)", got, n)
		}
	})
}

// Issue 15, item 4: a release of existing tools through four stages costs
// 10 calls per tool (the goal: at most 12), every check kept: one list of
// its versions in the first stage in the analysis (it gives the base, and
// the versions step reuses it), its test, and in each stage a publish and
// verify's list after it (prune uses that list, and it is the stray check
// of that stage, strays.go). The later stages are not listed before
// publishing (the blind publish). Beside them, one page of tools and one
// sign-in per stage and run. Every stage still verifies the commit it
// serves.
func TestRun_callsPerToolForFourStages(t *testing.T) {
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	h := newSimRepo(t, "us", "eu", "ap", "ca")
	files, fixes := map[string]string{}, map[string]string{}
	for _, n := range names {
		files = testkit.Files(files, testkit.Project(n, n, ""))
		fixes = testkit.Files(fixes, testkit.Touch(n, "fixed"))
	}
	first := h.commit("feat: tools", files)
	head := h.commit("fix: every tool", fixes)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, names...)
		rep := s.run(s.plan(""), nil)
		if !rep.OK() {
			t.Fatalf("not OK:\n%s", h.log)
		}
		total := 0
		for _, srv := range s.servers {
			total += len(srv.Requests())
		}
		perRun := s.requests(amigotest.OpListTools) + s.requests(amigotest.OpSignIn)
		if per := float64(total-perRun) / float64(len(names)); per > 10 {
			t.Errorf("%d calls for %d tools (%d per run): %.2f a tool, want at most 10", total, len(names), perRun, per)
		}
		want := map[string]int{
			amigotest.OpListVersions:   5 * len(names), // the analysis' in the first stage, then verify's in each stage
			amigotest.OpPublishVersion: 4 * len(names),
			amigotest.OpTestTool:       len(names),
			amigotest.OpListTools:      4, // one page a stage
			amigotest.OpSignIn:         4,
		}
		for op, n := range want {
			if got := s.requests(op); got != n {
				t.Errorf("%s: %d calls, want %d", op, got, n)
			}
		}
		for _, tr := range rep.Tools {
			for _, st := range tr.Stages {
				verified := false
				for _, step := range st.Steps {
					verified = verified || step.Name == "verify" && step.Status == pipeline.StatusDone
				}
				if st.Status != pipeline.StatusReleased || st.CommitHash != head || !verified || st.VersionBefore != "1.0.0" {
					t.Errorf("%s in %s: %s, commit %s, verified %v, before %q; want released, %s verified, before 1.0.0", tr.Name, st.Stage, st.Status, st.CommitHash, verified, st.VersionBefore, changes.ShortSHA(head))
				}
			}
		}
	})
}

// The early feed never sends a test in a run that then does not start: a
// project at head that cannot be a tool stops the run when the range
// releases it, which only the full detection tells, so with such a
// project the tests wait for the analysis.
func TestRun_noEarlyTestWhenAProjectCannotBeATool(t *testing.T) {
	names := []string{"alpha", "bravo", "charlie", "delta"}
	h := newSimRepo(t, "us", "eu")
	files := map[string]string{"tools/template/pyproject.toml": "[project]\nname = \"$pkg\"\n", "tools/template/main.py": "x = 1\n"}
	fixes := map[string]string{"tools/template/main.py": "x = 2\n"}
	for _, n := range names {
		files = testkit.Files(files, testkit.Project(n, n, ""))
		fixes = testkit.Files(fixes, testkit.Touch(n, "fixed"))
	}
	first := h.commit("feat: tools", files)
	h.commit("fix: every tool and the template", fixes)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, names...)
		_, err := s.runErr(s.plan(""), nil)
		if err == nil || !strings.Contains(err.Error(), "tools/template/pyproject.toml") || !strings.Contains(err.Error(), "this run would release it") {
			t.Fatalf("Run = %v, want the template's start problem\n%s", err, h.log)
		}
		if got := s.requests(amigotest.OpTestTool); got != 0 {
			t.Errorf("%d test-tool calls in a run that did not start, want none", got)
		}
	})
}

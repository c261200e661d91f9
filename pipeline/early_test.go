package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
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
		files = merge(files, project(name, ""))
	}
	first := h.commit("feat: the tools", files)
	changed := map[string]string{}
	for _, name := range names {
		changed = merge(changed, touch(name, "v2"))
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

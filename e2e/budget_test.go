package e2e

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// The fault campaign's seeds with a short publish.retry_budget found the
// cases of this file: what must happen whatever the budget left.

// oneToolWorld is a world of one stage, us, whose plan gives publishes a
// retry budget of budget, and origin's first commit: that plan and one
// tool, weather_lookup in tools/weather. It returns the commit.
func oneToolWorld(t *testing.T, budget string) (*world, string) {
	t.Helper()
	w := newWorld(t)
	w.stages = []string{"us"}
	head := w.commit("feat: one tool", testkit.Files(
		map[string]string{".amigo/release.yaml": strings.Replace(w.planYAML(nil, ""), "retry_budget: 2h", "retry_budget: "+budget, 1)},
		testkit.Project("weather", "weather_lookup", ""),
	))
	return w, head
}

// TestCapRefusalPrunesAndRetriesOnce: the tool already has four active
// versions (the API refuses a publish beyond three), so the publish is
// refused for the cap; the bot deprecates the oldest unpinned version and
// publishes once more (DESIGN §5). That one retry is the cap policy, not a
// retry of a 409: it must happen whatever publish.retry_budget is (here
// 1s: the budget is spent by the time the refusal is answered).
//
// The fault campaign found this: in seeds with a short retry budget the
// budget was already spent when the cap refusal came, so the bot deprecated
// a version and then gave up without publishing.
func TestCapRefusalPrunesAndRetriesOnce(t *testing.T) {
	w, first := oneToolWorld(t, "1s")
	// Three older commits, not in this history, and the first.
	w.Seed("us", "weather_lookup", "tools/weather", "1.0.0@"+strings.Repeat("0", 40), "1.1.0@"+strings.Repeat("1", 40),
		"1.2.0@"+strings.Repeat("2", 40), "1.3.0@"+first)
	head := w.commit("feat(weather): radar", testkit.Touch("weather", "radar"))
	w.checkout(0)
	r := w.release(nil)
	tr := toolReport(t, r.report, "weather_lookup")
	if len(tr.Stages) != 1 || tr.Stages[0].Status != pipeline.StatusReleased || tr.Stages[0].VersionAfter != "1.4.0" {
		t.Errorf("us: %s %q: %s; want released 1.4.0", tr.Stages[0].Status, tr.Stages[0].VersionAfter, tr.Stages[0].Error)
	}
	r.wantCode(t, 0)
	w.wantLive("weather_lookup", "1.2.0@"+strings.Repeat("2", 7), "1.3.0@"+changes.DisplaySHA(first), "1.4.0@"+changes.DisplaySHA(head))
}

// TestLostPublishAnswerAtTheEndOfTheBudget: the connection drops after the
// server did the publish (the unknown-outcome case), and the publish retry
// budget is already spent (a publish takes 1–2 simulated minutes, the
// budget is 30 s). The bot must still look for the version before it
// reports: the version is live, so the stage is released (found by commit,
// not published again), never "failed" while it serves the commit.
//
// The fault campaign found this (seeds with a short retry_budget).
func TestLostPublishAnswerAtTheEndOfTheBudget(t *testing.T) {
	w, head := oneToolWorld(t, "30s")
	w.checkout(0)
	w.server("us").DropAfterWork(amigotest.OpPublishVersion, 1)
	r := w.release(nil)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(head))
	tr := toolReport(t, r.report, "weather_lookup")
	if len(tr.Stages) != 1 || tr.Stages[0].Status != pipeline.StatusReleased || tr.Stages[0].VersionAfter != "1.0.0" {
		t.Errorf("us serves 1.0.0 of the head commit, but the report says %s %q: %s", tr.Stages[0].Status, tr.Stages[0].VersionAfter, tr.Stages[0].Error)
	}
	r.wantCode(t, 0)
	if p := w.publishes()["us"]; p != 1 {
		t.Errorf("%d successful publishes, want 1", p)
	}
}

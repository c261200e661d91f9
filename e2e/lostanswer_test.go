package e2e

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// TestLostPublishAnswerAtTheEndOfTheBudget: the connection drops after the
// server did the publish (the unknown-outcome case), and the publish retry
// budget is already spent (a publish takes 1–2 simulated minutes, the
// budget is 30 s). The bot must still look for the version before it
// reports: the version is live, so the stage is released (found by commit,
// not published again), never "failed" while it serves the commit.
//
// The fault campaign found this (seeds with a short retry_budget).
func TestLostPublishAnswerAtTheEndOfTheBudget(t *testing.T) {
	w := newWorld(t)
	w.stages = []string{"us"}
	head := w.commit("feat: one tool", testkit.Files(
		map[string]string{".amigo/release.yaml": strings.Replace(w.planYAML(nil, ""), "retry_budget: 2h", "retry_budget: 30s", 1)},
		testkit.Project("weather", "weather_lookup", ""),
	))
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

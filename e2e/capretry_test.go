package e2e

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

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
	w := newWorld(t)
	w.stages = []string{"us"}
	first := w.commit("feat: one tool", testkit.Files(
		map[string]string{".amigo/release.yaml": strings.Replace(w.planYAML(nil, ""), "retry_budget: 2h", "retry_budget: 1s", 1)},
		testkit.Project("weather", "weather_lookup", ""),
	))
	srv := w.server("us")
	id, err := srv.AddTool(org, amigotest.SeedTool{Name: "weather_lookup"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		commit := first
		if v != "1.3.0" {
			commit = strings.Repeat(v[2:3], 40) // older commits, not in this history
		}
		if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: v, Commit: commit, ProjectDirectory: "tools/weather"}); err != nil {
			t.Fatal(err)
		}
	}
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

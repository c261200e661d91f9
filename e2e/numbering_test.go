package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// TestPlanPredictsTheNumberAfterAHandDeprecation: after someone deprecates
// the newest version in one region by hand, `plan` names the number each
// server will give (the bump over the highest version it ever had), and
// `run` then gets exactly that everywhere, without drift.
func TestPlanPredictsTheNumberAfterAHandDeprecation(t *testing.T) {
	w, _ := releasedWorld(t)
	w.commit("fix(weather): rain", testkit.Touch("weather", "rain"))
	w.pull()
	w.release(nil).wantCode(t, 0)

	eu, err := amigo.New(amigo.Config{BaseURL: w.cluster.URL(stageRegion["eu"]), Org: org, APIKey: "k", APIKeyID: "kid", UserID: "someone"})
	if err != nil {
		t.Fatal(err)
	}
	id := mustTool(t, w, "eu", "weather_lookup")
	if err := eu.DeprecateVersions(context.Background(), id, "==1.0.1"); err != nil {
		t.Fatal(err)
	}
	head := w.commit("fix(weather): snow", testkit.Touch("weather", "snow"))
	w.pull()

	env := map[string]string{"AMIGO_TIME_SCALE": fmt.Sprint(scale)}
	for k, v := range creds {
		env[k] = v
	}
	p := w.run(w.work, env, "plan", "--report-json", "")
	p.wantCode(t, 0)
	r := w.release(nil)
	r.wantCode(t, 0)
	planned, ran := toolReport(t, p.report, "weather_lookup"), toolReport(t, r.report, "weather_lookup")
	for i, s := range planned.Stages {
		if s.VersionAfter != "1.0.2" || ran.Stages[i].Stage != s.Stage || ran.Stages[i].VersionAfter != s.VersionAfter {
			t.Errorf("%s: plan said %q, the run got %s %q; want 1.0.2 both", s.Stage, s.VersionAfter, ran.Stages[i].Stage, ran.Stages[i].VersionAfter)
		}
	}
	if planned.Drift != "" || ran.Drift != "" {
		t.Errorf("drift: plan %q, run %q", planned.Drift, ran.Drift)
	}
	wantContains(t, "plan output", p.stdout, "1.0.2")
	for _, s := range w.stages {
		live := w.live(s, "weather_lookup")
		if last := live[len(live)-1]; last != "1.0.2@"+changes.DisplaySHA(head) {
			t.Errorf("%s: newest live %s, want 1.0.2@%s", s, last, changes.DisplaySHA(head))
		}
	}
}

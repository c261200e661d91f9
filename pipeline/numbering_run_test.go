package pipeline_test

import (
	"context"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/pipeline"
)

// TestPlan_predictsAfterAHandDeprecatedNewestVersion: someone deprecated
// the newest version in one region by hand. The server numbers the next
// version from the highest it ever had, so plan must name that number (it
// used to predict from the newest active version: 1.0.1 there, and drift),
// and the run then gets exactly what plan said, in every stage.
func TestPlan_predictsAfterAHandDeprecatedNewestVersion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", project("weather", ""))
	plan := h.chain("")
	h.run(plan, nil)
	h.commit("fix(weather): rain", touch("weather", "rain"))
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("second release: %v\n%s", toolNames(rep), h.log)
	}
	// By hand, through the API: eu's newest version goes.
	c, err := amigo.New(amigo.Config{BaseURL: h.servers["eu"].URL(), Org: org, APIKey: "k", APIKeyID: "kid", UserID: "someone"})
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := h.servers["eu"].ToolByName(org, "weather")
	if err := c.DeprecateVersions(context.Background(), tl.ID, "==1.0.1"); err != nil {
		t.Fatal(err)
	}
	h.commit("fix(weather): snow", touch("weather", "snow"))

	planned := h.run(plan, func(o *pipeline.Options) { o.Mode = pipeline.ModePlan })
	ran := h.run(plan, nil)
	if !ran.OK() {
		t.Fatalf("third release: %v\n%s", toolNames(ran), h.log)
	}
	for _, sn := range []string{"us", "eu"} {
		p, r := stage(t, tool(t, planned, "weather"), sn), stage(t, tool(t, ran, "weather"), sn)
		if p.VersionAfter != "1.0.2" || r.VersionAfter != p.VersionAfter || r.Status != pipeline.StatusReleased {
			t.Errorf("%s: plan predicted %q, the run got %q (%s); want 1.0.2 both", sn, p.VersionAfter, r.VersionAfter, r.Status)
		}
	}
	if eu := stage(t, tool(t, planned, "weather"), "eu"); eu.VersionBefore != "1.0.0" {
		t.Errorf("eu version before = %q, want the newest active, 1.0.0", eu.VersionBefore)
	}
	if d := tool(t, ran, "weather").Drift; d != "" {
		t.Errorf("drift after the run: %s", d)
	}
}

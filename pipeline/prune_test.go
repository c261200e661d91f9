package pipeline_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

func TestRun_capPruningWithPinnedVersion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	srv := h.servers["us"]
	id, err := srv.AddTool(org, amigotest.SeedTool{Name: "weather", Description: "The weather tool."})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: v, Commit: first, ProjectDirectory: "tools/weather"}); err != nil {
			t.Fatal(err)
		}
	}
	h.commit("feat(weather): forecast", testkit.Touch("weather", "v2"))
	plan := h.plan("", []stageSpec{{name: "us", extra: "active_cap: 2\nkeep:\n  weather: [\"1.0.0\"]"}}, "")
	rep := h.run(plan, nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.VersionAfter != "1.4.0" {
		t.Fatalf("us = %s %s (%s), want released 1.4.0\n%s", st.Status, st.VersionAfter, st.Error, h.log)
	}
	// 4 active (> cap 3): the publish is refused, 1.1.0 (oldest unpinned)
	// goes, the retry succeeds; then active_cap 2 keeps 1.4.0, 1.3.0 and
	// the pinned 1.0.0.
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0", "1.3.0", "1.4.0"}) {
		t.Errorf("active = %v, want [1.0.0 1.3.0 1.4.0]", got)
	}
	if !slices.Equal(st.Pruned, []string{"1.1.0", "1.2.0"}) {
		t.Errorf("pruned = %v, want [1.1.0 1.2.0]", st.Pruned)
	}
	if st.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (refused for the cap, then retried once)", st.Attempts)
	}
	if rep.Stats.CapPrunes != 1 || rep.Stats.Pruned != 2 {
		t.Errorf("stats = %+v, want 1 cap prune of 2 pruned", rep.Stats)
	}
	for _, r := range srv.Requests() {
		if r.OperationID == amigotest.OpDeprecateVersions && !strings.Contains(r.Path, "%3D%3D") && !strings.Contains(r.Path, "==") {
			t.Errorf("deprecation %s is not an exact ==X.Y.Z constraint", r.Path)
		}
	}
}

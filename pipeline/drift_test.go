package pipeline_test

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

func TestRun_driftBetweenRegions(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	// eu already has an older 1.0.0 (numbered on its own): the same commit
	// becomes 1.0.0 in us and 1.1.0 in eu.
	id, err := h.servers["eu"].AddTool(org, amigotest.SeedTool{Name: "weather", Description: "The weather tool."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.servers["eu"].AddVersion(org, id, amigotest.SeedVersion{Version: "1.0.0", Commit: first, ProjectDirectory: "tools/weather"}); err != nil {
		t.Fatal(err)
	}
	head := h.commit("feat(weather): more", testkit.Touch("weather", "v2"))
	rep := h.run(h.chain(""), nil)
	w := tool(t, rep, "weather")
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	if us, eu := stage(t, w, "us"), stage(t, w, "eu"); us.VersionAfter != "1.0.0" || eu.VersionAfter != "1.1.0" || us.Bump != "major" || eu.Bump != "minor" {
		t.Fatalf("us %s (%s) eu %s (%s), want 1.0.0 (major: the tool's first there) and 1.1.0 (minor)", us.VersionAfter, us.Bump, eu.VersionAfter, eu.Bump)
	}
	if !strings.Contains(w.Drift, "us 1.0.0") || !strings.Contains(w.Drift, "eu 1.1.0") || !strings.Contains(w.Drift, head[:12]) {
		t.Errorf("drift = %q, want both stages' numbers and the commit", w.Drift)
	}
}

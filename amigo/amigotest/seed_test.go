package amigotest

import (
	"testing"

	"github.com/amigo-release/amigo-release/internal/clock"
)

// TestSeed: Seed makes the tool once, adds each "X.Y.Z@commit" version
// (a leading "-" deprecated) from the project directory, and refuses a
// version that is not X.Y.Z.
func TestSeed(t *testing.T) {
	s := New(Options{Clock: clock.NewScaled(60000), PublishLatency: Fixed(0)})
	id, err := s.Seed("org1", SeedTool{Name: "weather", Description: "Looks up the weather."}, "tools/weather", "1.0.0@aaa", "-1.1.0@bbb")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Seed("org1", SeedTool{Name: "weather", Description: "not used: the tool exists"}, "tools/weather", "1.2.0@ccc")
	if err != nil {
		t.Fatal(err)
	}
	if again != id || len(s.Tools("org1")) != 1 {
		t.Fatalf("second Seed made another tool: %q, then %q; tools %v", id, again, s.Tools("org1"))
	}
	if tl, _ := s.ToolByName("org1", "weather"); tl.Description != "Looks up the weather." {
		t.Errorf("description %q, want the one the first Seed created the tool with", tl.Description)
	}
	got := map[string]string{}
	for _, v := range s.Versions("org1", id) {
		state := "live"
		if v.Deprecated {
			state = "deprecated"
		}
		got[v.Version.String()] = v.ToolCommitHash + " " + v.ProjectDirectory + " " + state
	}
	want := map[string]string{
		"1.0.0": "aaa tools/weather live",
		"1.1.0": "bbb tools/weather deprecated",
		"1.2.0": "ccc tools/weather live",
	}
	for v, w := range want {
		if got[v] != w {
			t.Errorf("version %s: %q, want %q (all: %v)", v, got[v], w, got)
		}
	}
	if _, err := s.Seed("org1", SeedTool{Name: "weather"}, "tools/weather", "1.3@ddd"); err == nil {
		t.Error("Seed accepted version 1.3")
	}
}

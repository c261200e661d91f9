package testkit_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/testkit"
)

// TestRepo: commits, a merge, a move and a shallow clone make the history
// git reports.
func TestRepo(t *testing.T) {
	r := testkit.NewRepo(t)
	first := r.Commit("feat: weather", testkit.Project("weather", "weather-lookup", ""))
	r.Branch("topic")
	r.Commit("fix(weather): rain", testkit.Touch("weather", "rain"))
	r.Checkout("main")
	r.Commit("feat: calendar", testkit.Files(testkit.Project("calendar", "calendar", ""), testkit.Touch("calendar", "x")))
	m := r.Merge("topic", "merge topic")
	if parents := strings.Fields(r.Git("rev-list", "--parents", "-n", "1", m)); len(parents) != 3 {
		t.Errorf("merge %s has parents %v, want two", m, parents[1:])
	}
	mv := r.Move("tools/weather", "tools/forecast/weather", "refactor: move weather")
	if got := r.Git("show", "--name-status", "--format=", "-M", mv); !strings.Contains(got, "R100\ttools/weather/pyproject.toml\ttools/forecast/weather/pyproject.toml") {
		t.Errorf("move shows %q, want a rename", got)
	}
	gone := r.Commit("chore: drop calendar", map[string]string{"tools/calendar": ""})
	if got := r.Git("ls-tree", "-r", "--name-only", gone); strings.Contains(got, "calendar") {
		t.Errorf("after deleting: %s", got)
	}
	c := r.ShallowClone(2)
	if got := c.Git("rev-parse", "--is-shallow-repository"); got != "true" {
		t.Errorf("clone is shallow: %s", got)
	}
	if n := c.Git("rev-list", "--count", "HEAD"); n != "2" {
		t.Errorf("shallow clone has %s commits, want 2", n)
	}
	if _, err := testkit.GitErr(c.Dir, "cat-file", "-e", first); err == nil {
		t.Errorf("the first commit %s is in a clone of depth 2", first)
	}
}

// Projects and Touches are Project and Touch for each name.
func TestProjectsAndTouches(t *testing.T) {
	got := testkit.Projects("alpha", "bravo")
	want := testkit.Files(testkit.Project("alpha", "alpha", ""), testkit.Project("bravo", "bravo", ""))
	if len(got) != 4 || !maps.Equal(got, want) {
		t.Errorf("Projects: %v, want %v", got, want)
	}
	got = testkit.Touches("fixed", "alpha", "bravo")
	want = testkit.Files(testkit.Touch("alpha", "fixed"), testkit.Touch("bravo", "fixed"))
	if len(got) != 2 || !maps.Equal(got, want) {
		t.Errorf("Touches: %v, want %v", got, want)
	}
}

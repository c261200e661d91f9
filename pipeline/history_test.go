package pipeline_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/pipeline"
)

// historyJSON is a report JSON whose timings give each tool's publish
// durations in every stage.
func historyJSON(t *testing.T, byTool map[string]time.Duration, stages ...string) string {
	pub := map[string]map[string]time.Duration{}
	for tool, d := range byTool {
		pub[tool] = map[string]time.Duration{}
		for _, st := range stages {
			pub[tool][st] = d
		}
	}
	b, err := json.Marshal(map[string]any{"mode": "run", "timings": map[string]any{"publish_ns": pub}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Issue 15, item 3: with a history, the test queue takes the tool with the
// longest expected remaining chain of publishes first; without one, the
// order stays what it was (the most stages left, then by name). The
// report keeps the durations this run measured, and the history's for the
// projects it did not publish; a tool gone from the repository is dropped.
func TestRun_historyOrdersTheTests(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	files := map[string]string{}
	for _, n := range []string{"alpha", "bravo", "charlie", "delta"} {
		files = merge(files, project(n, ""))
	}
	first := h.commit("feat: four tools", files)
	h.commit("fix: three change", merge(touch("alpha", "a"), touch("bravo", "b"), touch("charlie", "c")))
	build := map[string]time.Duration{"alpha": time.Minute, "bravo": 4 * time.Minute, "charlie": 2 * time.Minute}
	hist := historyJSON(t, map[string]time.Duration{"alpha": time.Minute, "bravo": 4 * time.Minute, "charlie": 2 * time.Minute, "delta": 3 * time.Minute, "gone": time.Hour}, "us", "eu")
	for _, c := range []struct {
		name    string
		history string
		want    []string
	}{
		{"without history: by name", "", []string{"alpha", "bravo", "charlie"}},
		{"with history: longest chain first", hist, []string{"bravo", "charlie", "alpha"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				s.seed(first, "alpha", "bravo", "charlie", "delta")
				s.publish = func(tool, stage string) time.Duration { return build[tool] }
				rep := s.run(s.plan(""), func(o *pipeline.Options) {
					if c.history != "" {
						hi, err := pipeline.ReadHistory("history.json", strings.NewReader(c.history))
						if err != nil {
							t.Fatal(err)
						}
						o.History = hi
					}
				})
				if !rep.OK() {
					t.Fatalf("not OK:\n%s", h.log)
				}
				if got := s.testOrder(); !slices.Equal(got, c.want) {
					t.Errorf("tests went out in the order %v, want %v", got, c.want)
				}
				if rep.Timings == nil {
					t.Fatal("the report keeps no timings")
				}
				for tool, d := range build {
					for _, st := range []string{"us", "eu"} {
						if got := rep.Timings.Publish[tool][st]; got != d {
							t.Errorf("timings[%s][%s] = %s, want the %s this run measured", tool, st, got, d)
						}
					}
				}
				_, keptDelta := rep.Timings.Publish["delta"]
				if keptDelta != (c.history != "") {
					t.Errorf("delta (not released) kept in timings: %v, want %v (from the history)", keptDelta, c.history != "")
				}
				if _, ok := rep.Timings.Publish["gone"]; ok {
					t.Errorf("a tool that is no project any more stays in the timings")
				}
			})
		})
	}
}

// ReadHistory takes a report's timings; from an older report without them,
// the durations of first-attempt publishes; refuses what is not a report
// JSON and what is too large, naming the file.
func TestReadHistory(t *testing.T) {
	h, err := pipeline.ReadHistory("h.json", strings.NewReader(`{"timings":{"publish_ns":{"weather":{"us":90000000000}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := h.Publish("weather", "us"); !ok || d != 90*time.Second {
		t.Errorf("weather/us = %s %v, want 1m30s", d, ok)
	}
	old := `{"tools":[{"name":"weather","stages":[{"stage":"us","steps":[{"name":"publish","status":"released","attempts":1,"duration_ns":120000000000}]},
		{"stage":"eu","steps":[{"name":"publish","status":"released","attempts":3,"duration_ns":900000000000}]}]}]}`
	h, err = pipeline.ReadHistory("old.json", strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := h.Publish("weather", "us"); !ok || d != 2*time.Minute {
		t.Errorf("from the steps: weather/us = %s %v, want 2m", d, ok)
	}
	if _, ok := h.Publish("weather", "eu"); ok {
		t.Errorf("a publish retried 3 times counts as a build time")
	}
	if _, err := pipeline.ReadHistory("bad.json", strings.NewReader("{not json")); err == nil || !strings.Contains(err.Error(), "bad.json: not a report JSON") {
		t.Errorf("garbage: %v", err)
	}
	big := `{"warnings":["` + strings.Repeat("x", pipeline.MaxHistorySize) + `"]}`
	if _, err := pipeline.ReadHistory("big.json", strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("big.json: larger than %d MiB", pipeline.MaxHistorySize>>20)) {
		t.Errorf("too large: %v", err)
	}
}

package pipeline_test

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// A smoke invocation that fails fails the stage (the version stays
// published) and blocks the stages after it.
func TestRun_failingSmokeBlocksPromotion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.plan("", []stageSpec{{name: "us", extra: "smoke: true"}, {name: "eu"}}, `tools:
  weather:
    test_inputs:
      - input_parameters: {raise: "RuntimeError: upstream down"}
`)
	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us, eu := stage(t, w, "us"), stage(t, w, "eu")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "RuntimeError") || us.VersionAfter != "1.0.0" {
		t.Fatalf("us = %s %s (%q), want failed after publishing 1.0.0, naming the exception", us.Status, us.VersionAfter, us.Error)
	}
	if len(us.Smoke) != 1 || us.Smoke[0].Succeeded || us.Smoke[0].Message != "upstream down" {
		t.Errorf("smoke results %+v, want the one failed input", us.Smoke)
	}
	if eu.Status != pipeline.StatusBlocked || h.count("eu", amigotest.OpPublishVersion, 0) != 0 {
		t.Errorf("eu = %s, want blocked with nothing published", eu.Status)
	}

	// A plan says the smoke runs again.
	planned, err := pipeline.Preview(t.Context(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if ps := stage(t, tool(t, planned, "weather"), "us"); ps.Status != pipeline.StatusUpToDate || len(ps.Steps) != 1 || ps.Steps[0].Name != "smoke" {
		t.Errorf("plan: us = %s with steps %+v, want up-to-date with the smoke planned again", ps.Status, ps.Steps)
	}

	// A rerun finds 1.0.0 already serving the commit in us, but the smoke
	// has not passed: it runs again, fails again, and still nothing is
	// promoted.
	rep = h.run(plan, nil)
	w = tool(t, rep, "weather")
	us, eu = stage(t, w, "us"), stage(t, w, "eu")
	if rep.OK() || us.Status != pipeline.StatusFailed || len(us.Smoke) != 1 || eu.Status != pipeline.StatusBlocked {
		t.Errorf("rerun: us = %s with %d smoke results, eu = %s; want failed by the smoke again, eu blocked", us.Status, len(us.Smoke), eu.Status)
	}
	if n := h.count("eu", amigotest.OpPublishVersion, 0); n != 0 || len(h.versions("us", "weather")) != 1 {
		t.Errorf("rerun: %d publishes in eu, %d versions in us; want 0 and 1", n, len(h.versions("us", "weather")))
	}
}

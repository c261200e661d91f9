package pipeline_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

func TestPlan_makesNoMutatingCall(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("release failed: %v", toolNames(rep))
	}
	h.commit("feat(weather): forecast", testkit.Touch("weather", "v2"))
	h.commit("feat: flights", testkit.Project("flights", "flights", ""))
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	rep, err := pipeline.Preview(t.Context(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "plan" {
		t.Errorf("mode = %q", rep.Mode)
	}
	w := stage(t, tool(t, rep, "weather"), "us")
	if w.Status != pipeline.StatusPlanned || w.VersionBefore != "1.0.0" || w.VersionAfter != "1.1.0" || w.Bump != "minor" {
		t.Errorf("weather us plan = %s %s → %s (%s), want planned 1.0.0 → 1.1.0 (minor)", w.Status, w.VersionBefore, w.VersionAfter, w.Bump)
	}
	if f := stage(t, tool(t, rep, "flights"), "eu"); f.Status != pipeline.StatusPlanned || f.VersionAfter != "1.0.0" {
		t.Errorf("flights eu plan = %s %s, want planned 1.0.0", f.Status, f.VersionAfter)
	}
	reads := 0
	for name, srv := range h.servers {
		for _, r := range srv.Requests() {
			if r.Mutating() || r.OperationID == amigotest.OpTestTool {
				t.Errorf("plan sent %s %s to %s", r.Method, r.Path, name)
			}
			if r.OperationID == amigotest.OpListVersions || r.OperationID == amigotest.OpListTools {
				reads++
			}
		}
	}
	if reads == 0 {
		t.Errorf("plan made no read call: it should look at the servers")
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("plan changed the server: %v", got)
	}

	// Offline: no request at all.
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	rep = h.run(plan, func(o *pipeline.Options) { o.Mode = pipeline.ModeOffline; o.Getenv = func(string) string { return "" } })
	for name, srv := range h.servers {
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("offline plan sent %d requests to %s", n, name)
		}
	}
	if len(rep.Tools) != 2 {
		t.Errorf("offline plan lists %v, want both tools (first release of each without a base)", toolNames(rep))
	}
	// --dry-run: a run's report, nothing changed.
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	rep = h.run(plan, func(o *pipeline.Options) { o.DryRun = true })
	if rep.Mode != "run" || !rep.DryRun {
		t.Errorf("dry run report: mode %q dry_run %v, want run, true", rep.Mode, rep.DryRun)
	}
	for name, srv := range h.servers {
		for _, r := range srv.Requests() {
			if r.Mutating() || r.OperationID == amigotest.OpTestTool {
				t.Errorf("dry run sent %s %s to %s", r.Method, r.Path, name)
			}
		}
	}
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status": "planned"`) {
		t.Errorf("plan JSON lacks planned stages:\n%s", b)
	}
}

// TestPlan_missingSecretIsAWarning: a pull request from a fork gets no
// secrets; its preview must still say what would release, with a warning,
// while a dry run (and a run) needs the variable.
func TestPlan_missingSecretIsAWarning(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_PROD
        secret: true
`)
	for _, mode := range []pipeline.Mode{pipeline.ModePlan, pipeline.ModeOffline} {
		rep := h.run(plan, func(o *pipeline.Options) { o.Mode = mode })
		got := tool(t, rep, "weather")
		if !rep.OK() || got.Status != pipeline.StatusPlanned {
			t.Fatalf("%s: weather = %s (%s), want planned", mode, got.Status, got.Error)
		}
		if !strings.Contains(strings.Join(got.Warnings, "\n"), "WEATHER_KEY_PROD is not set") {
			t.Errorf("%s: warnings %q do not name the missing variable", mode, got.Warnings)
		}
	}
	_, err := h.runErr(plan, func(o *pipeline.Options) { o.DryRun = true })
	if _, ok := errors.AsType[*pipeline.StartError](err); !ok || !strings.Contains(err.Error(), "WEATHER_KEY_PROD") {
		t.Errorf("dry run: %v, want a StartError naming WEATHER_KEY_PROD (a run needs it)", err)
	}
}

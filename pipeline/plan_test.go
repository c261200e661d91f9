package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
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
	plan := h.chain(weatherSecretKey)
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

// TestPlan_predictsAfterAHandDeprecatedNewestVersion: someone deprecated
// the newest version in one region by hand. The server numbers the next
// version from the highest it ever had, so plan must name that number (it
// used to predict from the newest active version: 1.0.1 there, and drift),
// and the run then gets exactly what plan said, in every stage.
func TestPlan_predictsAfterAHandDeprecatedNewestVersion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	h.run(plan, nil)
	h.commit("fix(weather): rain", testkit.Touch("weather", "rain"))
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
	h.commit("fix(weather): snow", testkit.Touch("weather", "snow"))

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

// TestPlan_refusesAHighestVersionNoToolCanHave: plan numbers the next
// version from the highest one a server reports. A server that answers a
// part at the top of an int (or a negative one) would make the prediction
// wrap around to a negative version: plan refuses it, naming the stage,
// the tool and the version, and predicts nothing.
func TestPlan_refusesAHighestVersionNoToolCanHave(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	h.run(plan, nil)
	h.commit("feat(weather): rain", testkit.Touch("weather", "rain"))
	for _, bad := range []string{`"major":9223372036854775807`, `"major":-3`} {
		edit := func(r *http.Request, body []byte) []byte {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/version") && strings.Contains(r.URL.RawQuery, "sort_by") {
				return bytes.ReplaceAll(body, []byte(`"major":1`), []byte(bad))
			}
			return body
		}
		rep, err := h.runErr(plan, func(o *pipeline.Options) {
			o.Mode = pipeline.ModePlan
			o.Clients = pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock, HTTPClient: &http.Client{Transport: testkit.EditResponses{Edit: edit}}})
		})
		if err == nil || !strings.Contains(err.Error(), "stage us") || !strings.Contains(err.Error(), "highest version of weather") || !strings.Contains(err.Error(), "which no tool version can be") {
			t.Errorf("%s: error %v, want the stage, the tool and the version refused", bad, err)
		}
		if rep != nil {
			for _, tr := range rep.Tools {
				for _, s := range tr.Stages {
					if strings.HasPrefix(s.VersionAfter, "-") {
						t.Errorf("%s: planned %s", bad, s.VersionAfter)
					}
				}
			}
		}
	}
}

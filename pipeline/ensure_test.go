package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// The tool is found by name beyond the first page of the tool list (20 a
// page), not created again, and its description and tags are brought up to
// date.
func TestRun_findsToolBeyondFirstPageAndUpdatesIt(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	srv := h.servers["us"]
	for i := 0; i < 45; i++ {
		if _, err := srv.AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("aaa_filler_%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	id, err := srv.AddTool(org, amigotest.SeedTool{Name: "weather", Description: "old words", Tags: map[string]string{"team": "old"}})
	if err != nil {
		t.Fatal(err)
	}
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain(`tools:
  weather:
    tags:
      team: forecasts
      beta:
`)
	rep := h.run(plan, nil)
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	if n := h.count("us", amigotest.OpCreateTool, 0); n != 0 {
		t.Errorf("%d create-tool calls, want 0: the tool exists on page 3", n)
	}
	tl, ok := srv.ToolByName(org, "weather")
	if !ok || tl.ID != id {
		t.Fatalf("weather is %+v, want the seeded %s", tl, id)
	}
	if tl.Description != "The weather tool." {
		t.Errorf("description = %q, want the project's", tl.Description)
	}
	tags := map[string]string{}
	for _, tg := range tl.Tags {
		v := "<null>"
		if tg.Value != nil {
			v = *tg.Value
		}
		tags[tg.Key] = v
	}
	if len(tags) != 2 || tags["team"] != "forecasts" || tags["beta"] != "<null>" {
		t.Errorf("tags = %v, want team=forecasts and beta (no value)", tags)
	}
	if n := h.count("us", amigotest.OpModifyTool, 0); n != 1 {
		t.Errorf("%d modify-tool calls, want 1", n)
	}
	if !strings.Contains(h.log.String(), "updated its description and tags") {
		t.Errorf("the ensure step's log line does not say what it updated:\n%s", h.log)
	}
}

// createdMeanwhile creates the tool on the server just before the
// pipeline's own create-tool call, as a concurrent run would.
type createdMeanwhile struct {
	pipeline.API
	srv *amigotest.Server
}

func (c *createdMeanwhile) CreateTool(ctx context.Context, req amigo.CreateToolRequest) (string, error) {
	if _, err := c.srv.AddTool(org, amigotest.SeedTool{Name: req.Name, Description: "made by someone else"}); err != nil {
		return "", err
	}
	return c.API.CreateTool(ctx, req)
}

// A new tool is created without listing the tools again (the analysis
// listed them: in a large organization that is many pages at 50 a
// minute); one created meanwhile is found after the 409, not duplicated.
func TestRun_newToolCreatedWithoutSecondListing(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	for _, sn := range h.stages {
		for i := 0; i < 45; i++ {
			if _, err := h.servers[sn].AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("aaa_filler_%02d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	rep := h.run(h.chain(""), func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "eu" {
				api = &createdMeanwhile{API: api, srv: h.servers["eu"]}
			}
			return api, err
		}
	})
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	// 46 tools at 20 a page: 3 pages for the analysis' one listing.
	if n := h.count("us", amigotest.OpListTools, 0); n != 3 {
		t.Errorf("us: %d list-tools calls, want 3 (one listing of 3 pages)", n)
	}
	if n := h.count("us", amigotest.OpCreateTool, 0); n != 1 {
		t.Errorf("us: %d create-tool calls, want 1", n)
	}
	if n := h.count("eu", amigotest.OpCreateTool, http.StatusConflict); n != 1 {
		t.Errorf("eu: %d create-tool 409s, want 1 (the tool made meanwhile)", n)
	}
	n := 0
	for _, tl := range h.servers["eu"].Tools(org) {
		if tl.Name == "weather" && !tl.Deprecated {
			n++
		}
	}
	if eu := stage(t, tool(t, rep, "weather"), "eu"); n != 1 || eu.Status != pipeline.StatusReleased {
		t.Errorf("eu: %d weather tools, stage %s; want the one made meanwhile, released into", n, eu.Status)
	}
}

// TestRun_badToolSettingsStopTheStart (issue 13, item 3): an unset
// from_env variable of one tool is found before anything is created for
// any tool: the run does not start, and says which variable, where.
func TestRun_badToolSettingsStopTheStart(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", ""), testkit.Project("hotels", "hotels", "")))
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_NOT_SET
        secret: true
  hotels:
    envvars:
      - name: HOTELS_API_KEY
        from_env: HOTELS_KEY_NOT_SET
        secret: true
`)
	rep, err := h.runErr(plan, nil)
	se, ok := errors.AsType[*pipeline.StartError](err)
	if !ok || len(se.Problems) != 2 {
		t.Fatalf("Run = %v, want a StartError with one problem per unset variable", err)
	}
	for i, want := range []string{"WEATHER_KEY_NOT_SET", "HOTELS_KEY_NOT_SET"} {
		found := false
		for _, p := range se.Problems {
			found = found || strings.Contains(p.Error(), want) && strings.Contains(p.Error(), "release.yaml:")
		}
		if !found {
			t.Errorf("problem %d: no problem names %s and its plan line: %v", i, want, se.Problems)
		}
	}
	if rep.OK() || !strings.Contains(rep.Error, "WEATHER_KEY_NOT_SET") {
		t.Errorf("report error %q, want the problems", rep.Error)
	}
	for _, sn := range h.stages {
		if m := h.servers[sn].Tools(org); len(m) != 0 {
			t.Errorf("%s has tools %v: nothing may be created when the run cannot start", sn, m)
		}
		if n := h.count(sn, amigotest.OpTestTool, 0); n != 0 {
			t.Errorf("%s got %d tests", sn, n)
		}
	}
	h.env["WEATHER_KEY_NOT_SET"], h.env["HOTELS_KEY_NOT_SET"] = "wk-1234", "hk-1234"
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("with the variables set: %v\n%s", toolNames(rep), h.log)
	}
}

// Every stage is asked about every project once per run (the later ones
// for versions an earlier run left untested: strays.go), and no more: the
// versions step of a changed tool's stage lists again, the analysis never
// twice.
func TestRun_asksEachStageAboutEachToolOnce(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", ""), testkit.Project("hotels", "hotels", "")))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first release: %v", toolNames(rep))
	}
	h.commit("fix(weather): units", testkit.Touch("weather", "v2"))
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	if rep := h.run(plan, nil); !rep.OK() || len(rep.Tools) != 1 {
		t.Fatalf("second release: %v", toolNames(rep))
	}
	versionCalls := func(stage, name string) int {
		tl, _ := h.servers[stage].ToolByName(org, name)
		n := 0
		for _, r := range h.servers[stage].Requests() {
			if r.OperationID == amigotest.OpListVersions && strings.Contains(r.Path, tl.ID) {
				n++
			}
		}
		return n
	}
	for _, name := range []string{"flights", "hotels"} {
		if n := versionCalls("us", name); n != 1 {
			t.Errorf("us: %d list-versions calls for unchanged %s, want 1 (its base)", n, name)
		}
		if n := versionCalls("eu", name); n != 1 {
			t.Errorf("eu: %d list-versions calls for unchanged %s, want 1 (versions an earlier run left untested)", n, name)
		}
	}
	if n := versionCalls("eu", "weather"); n == 0 {
		t.Errorf("eu was never asked about the changed weather")
	}
}

func TestRun_envvarSyncWithSecret(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.env["WEATHER_KEY_PROD"] = "sk-live-TOPSECRET-99"
	h.commit("feat: weather", testkit.Project("weather", "weather", "[tool.amigo]\nrequired_envvars = [\"WEATHER_API_BASE\"]\nrequired_secret_envvars = [\"WEATHER_API_KEY\"]\n"))
	plan := h.chain(`tools:
  weather:
    envvars:
      - name: WEATHER_API_BASE
        value: https://api.weather.example/v2
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_PROD
        secret: true
`)
	var masked []string
	rep := h.run(plan, func(o *pipeline.Options) { o.OnSecrets = func(v []string) { masked = append(masked, v...) } })
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	tl, _ := h.servers["us"].ToolByName(org, "weather")
	got := h.servers["us"].Envvars(org, tl.ID)
	want := map[string]amigotest.Envvar{
		"WEATHER_API_BASE": {Name: "WEATHER_API_BASE", Value: "https://api.weather.example/v2"},
		"WEATHER_API_KEY":  {Name: "WEATHER_API_KEY", Value: "sk-live-TOPSECRET-99", Secret: true},
	}
	if len(got) != 2 {
		t.Fatalf("envvars on the tool = %+v, want 2", got)
	}
	for _, e := range got {
		if want[e.Name] != e {
			t.Errorf("envvar %s = %+v, want %+v", e.Name, e, want[e.Name])
		}
	}
	if !slices.Contains(masked, "sk-live-TOPSECRET-99") {
		t.Errorf("OnSecrets saw %d values, not the secret envvar's", len(masked))
	}
	if !slices.Contains(pipeline.SecretValues(plan, func(k string) string { return h.env[k] }), "ak-SECRET-4242") {
		t.Errorf("SecretValues lacks the API key")
	}

	// Rotate the secret: the next release updates it in place.
	h.env["WEATHER_KEY_PROD"] = "sk-live-ROTATED-77"
	h.commit("fix(weather): retry", testkit.Touch("weather", "v2"))
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("second run not OK: %v", toolNames(rep))
	}
	for _, e := range h.servers["us"].Envvars(org, tl.ID) {
		if e.Name == "WEATHER_API_KEY" && e.Value != "sk-live-ROTATED-77" {
			t.Errorf("secret not updated: %q", e.Value)
		}
	}
	js, _ := json.Marshal(rep)
	for _, secret := range []string{"sk-live-TOPSECRET-99", "sk-live-ROTATED-77", "ak-SECRET-4242"} {
		if strings.Contains(h.log.String(), secret) || strings.Contains(string(js), secret) {
			t.Errorf("secret %q leaked into the log or the report", secret)
		}
	}
	if !strings.Contains(h.log.String(), "WEATHER_API_KEY (secret)") {
		t.Errorf("log does not name the synced secret (by name):\n%s", h.log)
	}
}

// TestRun_refusesMissingEnvvars: a runtime contract that the configuration
// does not cover is found for every stage before anything is created.
func TestRun_refusesMissingEnvvars(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", "[tool.amigo]\nrequired_secret_envvars = [\"WEATHER_API_KEY\"]\n"))
	rep, err := h.runErr(h.chain(""), nil)
	se, ok := errors.AsType[*pipeline.StartError](err)
	if !ok || len(se.Problems) != 2 {
		t.Fatalf("Run = %v, want a StartError with one problem per stage", err)
	}
	for i, sn := range []string{"us", "eu"} {
		if msg := se.Problems[i].Error(); !strings.Contains(msg, "tool weather") || !strings.Contains(msg, "stage "+sn) || !strings.Contains(msg, "WEATHER_API_KEY") || !strings.Contains(msg, "envvars") {
			t.Errorf("problem %d = %q, want weather, stage %s, WEATHER_API_KEY and where to configure it", i, msg, sn)
		}
	}
	if rep.OK() || tool(t, rep, "weather").Status != pipeline.StatusPending {
		t.Errorf("report: %v, want weather pending (not started)", toolNames(rep))
	}
	for _, sn := range h.stages {
		for _, q := range h.servers[sn].Requests() {
			if q.Mutating() || q.OperationID == amigotest.OpTestTool {
				t.Errorf("%s got %s %s before the run could start", sn, q.Method, q.Path)
			}
		}
	}
}

// TestRun_serverRefusesMissingEnvvars: the server, not the pipeline's own
// check, refuses the publish for missing envvars. A push lands on the
// stage's branch while the release runs, after the start checks, and its
// tip (what the server builds) requires WEATHER_API_KEY, which the released
// head does not know. The refusal is reported with the server's words, not
// retried, later stages are blocked, and nothing is published.
func TestRun_serverRefusesMissingEnvvars(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	// No test gate: the publish meets the refusal (with one, test-tool
	// refuses first, for the same reason).
	plan := h.plan("", []stageSpec{{name: "us"}, {name: "eu"}}, "")
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "us" {
				api = &movingBranch{API: api, moved: make(chan string, 1), h: h,
					files: testkit.Project("weather", "weather", "[tool.amigo]\nrequired_secret_envvars = [\"WEATHER_API_KEY\"]\n")}
			}
			return api, err
		}
	})
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "do not exist on the tool: WEATHER_API_KEY") {
		t.Fatalf("us = %s %q, want failed with the server's refusal naming WEATHER_API_KEY\n%s", us.Status, us.Error, h.log)
	}
	if n := h.count("us", amigotest.OpPublishVersion, 400); n != 1 {
		t.Errorf("%d publishes answered 400, want exactly 1 (a refusal is not retried)", n)
	}
	if stage(t, w, "eu").Status != pipeline.StatusBlocked {
		t.Errorf("eu = %s, want blocked", stage(t, w, "eu").Status)
	}
	for _, st := range []string{"us", "eu"} {
		if vs := h.versions(st, "weather"); len(vs) != 0 {
			t.Errorf("%s has versions %v after a refused publish", st, vs)
		}
	}
}

// A server error that echoes a secret value must not carry it into the log,
// the stage's error, the tool's error or the JSON report.
func TestRun_secretEchoedInAnErrorIsMasked(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	const secret = "sk-live-ECHOED-31337"
	h.env["WEATHER_KEY_PROD"] = secret
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.servers["us"].FailNext(amigotest.OpModifyEnvvars, 1, http.StatusBadRequest, `{"detail":"envvar WEATHER_API_KEY: value `+secret+` is not accepted"}`)
	plan := h.chain(weatherSecretKey)
	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "is not accepted") {
		t.Fatalf("us = %s (%q), want failed with the server's message", us.Status, us.Error)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"log": h.log.String(), "report": string(js), "stage error": us.Error, "tool error": w.Error} {
		if strings.Contains(text, secret) {
			t.Errorf("the secret leaked into the %s", what)
		}
	}
	if !strings.Contains(us.Error, "value *** is not accepted") {
		t.Errorf("stage error %q, want the secret replaced by ***", us.Error)
	}
}

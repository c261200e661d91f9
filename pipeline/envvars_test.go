package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

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

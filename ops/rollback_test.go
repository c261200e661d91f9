package ops_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/ops"
)

// releasedWorld: weather at three commits in four stages; ca numbers them
// differently (1.0.0, 1.0.1, 1.0.2), us pins 1.0.0.
func releasedWorld(t *testing.T) (*world, map[string]string) {
	w := newWorld(t)
	c := map[string]string{}
	c["c1"] = w.commit("feat: weather", testkit.Project("weather", "weather", "[[tool.amigo-release.test_inputs]]\ninput_parameters = { city = \"Oslo\" }\n"))
	c["c2"] = w.commit("fix: rain", testkit.Touch("weather", "rain"))
	c["c3"] = w.commit("feat: wind", testkit.Touch("weather", "wind"))
	for _, s := range []string{"us", "eu", "ap"} {
		w.seed(s, "weather", "1.0.0@"+c["c1"], "1.1.0@"+c["c2"], "1.2.0@"+c["c3"])
	}
	w.seed("ca", "weather", "1.0.0@"+c["c1"], "1.0.1@"+c["c2"], "1.0.2@"+c["c3"])
	return w, c
}

func rollback(t *testing.T, w *world, extra map[string]string, to string, dry bool) (*ops.RollbackReport, error) {
	t.Helper()
	plan := w.plan(extra)
	return ops.Rollback(context.Background(), ops.RollbackOptions{Plan: plan, Repo: w.repo(), Head: w.git("rev-parse", "HEAD"),
		Tool: "weather", To: to, DryRun: dry, APIs: w.apis(plan), Clock: w.Clock})
}

// TestRollback_fourStagesWithPin: rolling back to a first-stage version
// deprecates in every stage the versions newer than the target, each
// region's own number found by commit, the last stage first, leaves the
// pinned (older) version alone, and smokes what now serves where the
// stage has a smoke gate.
func TestRollback_fourStagesWithPin(t *testing.T) {
	w, c := releasedWorld(t)
	extra := map[string]string{"us": "smoke: true\nkeep:\n  weather: [\"1.0.0\"]", "ca": "smoke: true"}

	dry, err := rollback(t, w, extra, "1.1.0", true)
	if err != nil {
		t.Fatal(err)
	}
	if m := w.mutations(); len(m) != 0 || !dry.OK || len(dry.Stages) != 4 || strings.Join(dry.Stages[0].Deprecate, ",") != "1.0.2" {
		t.Fatalf("dry run: mutations %v, report %+v", m, dry)
	}

	rep, err := rollback(t, w, extra, "1.1.0", false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Commit != c["c2"] || rep.Version != "1.1.0" {
		t.Fatalf("report %+v", rep)
	}
	if got := strings.Join(w.deprecations(), ", "); got != "ca ==1.0.2, ap ==1.2.0, eu ==1.2.0, us ==1.2.0" {
		t.Errorf("deprecations in order: %s; want the last stage first, each region's own number", got)
	}
	for _, s := range []string{"us", "eu", "ap"} {
		if got := strings.Join(w.live(s, "weather"), ","); got != "1.0.0,1.1.0" {
			t.Errorf("%s live %s", s, got)
		}
	}
	if got := strings.Join(w.live("ca", "weather"), ","); got != "1.0.0,1.0.1" {
		t.Errorf("ca live %s", got)
	}
	for _, st := range rep.Stages {
		wantSmoke := st.Stage == "us" || st.Stage == "ca"
		if wantSmoke != (st.SmokeOK != nil) || (wantSmoke && (!*st.SmokeOK || len(st.Smoke) != 1 || !strings.Contains(st.Smoke[0].Output, "Oslo"))) {
			t.Errorf("%s smoke: %+v", st.Stage, st)
		}
		if want := map[string]string{"us": "1.1.0", "eu": "1.1.0", "ap": "1.1.0", "ca": "1.0.1"}[st.Stage]; st.After != want || st.Target != want {
			t.Errorf("%s after %s target %s, want %s", st.Stage, st.After, st.Target, want)
		}
	}

	// Again: nothing newer anywhere, nothing deprecated.
	before := len(w.deprecations())
	rep, err = rollback(t, w, extra, c["c2"][:8], false)
	if err != nil || !rep.OK || len(w.deprecations()) != before {
		t.Errorf("second rollback: %+v, %v; %d new deprecations", rep, err, len(w.deprecations())-before)
	}
}

// TestRollback_refused: a target that no longer serves in a stage, a newer
// pinned version, an unknown version or commit: exit-2 refusals naming the
// stage, before any change.
func TestRollback_refused(t *testing.T) {
	t.Run("target deprecated in eu", func(t *testing.T) {
		w, c := releasedWorld(t)
		// eu pruned the target's version.
		w.seed("eu", "weather", "-0.1.0@"+c["c1"])
		srvEU := w.servers["eu"]
		tl, _ := srvEU.ToolByName(org, "weather")
		_ = tl
		plan := w.plan(nil)
		apis := w.apis(plan)
		if err := apis["eu"].DeprecateVersions(context.Background(), tl.ID, "==1.1.0"); err != nil {
			t.Fatal(err)
		}
		srvEU.ResetRequests()
		_, err := rollback(t, w, nil, "1.1.0", false)
		var r *ops.Refusal
		if !errors.As(err, &r) || r.Stage != "eu" || !strings.Contains(err.Error(), "deprecated versions cannot come back") {
			t.Fatalf("err %v, want a refusal naming eu", err)
		}
		if m := w.mutations(); len(m) != 0 {
			t.Errorf("a refused rollback changed %v", m)
		}
	})
	t.Run("newer version pinned in ap", func(t *testing.T) {
		w, _ := releasedWorld(t)
		_, err := rollback(t, w, map[string]string{"ap": "keep:\n  weather: [\"1.2.0\"]"}, "1.1.0", false)
		var r *ops.Refusal
		if !errors.As(err, &r) || r.Stage != "ap" || !strings.Contains(err.Error(), "pinned") || !strings.Contains(r.Fix, "keep") {
			t.Fatalf("err %v, want a refusal naming ap's pin", err)
		}
		if m := w.mutations(); len(m) != 0 {
			t.Errorf("a refused rollback changed %v", m)
		}
	})
	t.Run("version deprecated in the first stage", func(t *testing.T) {
		w, c := releasedWorld(t)
		w.seed("us", "weather", "-0.5.0@"+c["c1"])
		_, err := rollback(t, w, nil, "0.5.0", false)
		var r *ops.Refusal
		if !errors.As(err, &r) || r.Stage != "us" || !strings.Contains(err.Error(), "deprecated") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("the tool's project is no tool now", func(t *testing.T) {
		// A second project named weather: neither is a tool, so the smoke
		// test's inputs are unknown; refused before any change.
		w, _ := releasedWorld(t)
		w.commit("chore: a copy", map[string]string{"tools/weather2/pyproject.toml": "[project]\nname = \"weather\"\n"})
		_, err := rollback(t, w, map[string]string{"us": "smoke: true"}, "1.1.0", false)
		if err == nil || !strings.Contains(err.Error(), "the project of weather cannot be read as a tool") ||
			!strings.Contains(err.Error(), `tools/weather/pyproject.toml: two projects are named "weather": tools/weather and tools/weather2`) {
			t.Fatalf("err %v, want the clash", err)
		}
		if m := w.mutations(); len(m) != 0 {
			t.Errorf("a refused rollback changed %v", m)
		}
	})
	t.Run("unknown version and commit", func(t *testing.T) {
		w, _ := releasedWorld(t)
		for _, to := range []string{"9.9.9", "not-a-ref", ""} {
			_, err := rollback(t, w, nil, to, false)
			var r *ops.Refusal
			if !errors.As(err, &r) {
				t.Errorf("--to %q: %v, want a refusal", to, err)
			}
		}
	})
}

// TestRollback_smokeFailure: a stage whose now-serving version fails its
// smoke test is reported (OK false), after every deprecation.
func TestRollback_smokeFailure(t *testing.T) {
	w, _ := releasedWorld(t)
	w.commit("test: an input that raises", map[string]string{"tools/weather/pyproject.toml": "[project]\nname = \"weather\"\n[[tool.amigo-release.test_inputs]]\ninput_parameters = { raise = \"ValueError: no city\" }\n"})
	rep, err := rollback(t, w, map[string]string{"eu": "smoke: true"}, "1.1.0", false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || !strings.Contains(rep.Error, "eu: the smoke test of 1.1.0 failed") || len(w.deprecations()) != 4 {
		t.Errorf("report %+v; deprecations %v", rep, w.deprecations())
	}
}

// TestRollback_stopsAtAFailedStage: a deprecation the server refuses stops
// the rollback there: the later stages (done first) stay rolled back, the
// earlier ones are left as they were, and the report says so; a 409
// (another operation in progress) is waited out.
func TestRollback_stopsAtAFailedStage(t *testing.T) {
	w, _ := releasedWorld(t)
	w.servers["eu"].FailNext(amigotest.OpDeprecateVersions, 2, http.StatusConflict, `{"detail":"An operation is in progress."}`)
	w.servers["ap"].FailNext(amigotest.OpDeprecateVersions, 1, http.StatusBadRequest, `{"detail":"refused"}`)
	rep, err := rollback(t, w, nil, "1.1.0", false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || !strings.Contains(rep.Error, "stage ap: deprecate weather 1.2.0") {
		t.Fatalf("report %+v", rep)
	}
	if got := strings.Join(w.deprecations(), ", "); got != "ca ==1.0.2" {
		t.Errorf("deprecations %s, want only ca's before ap failed", got)
	}
	for _, st := range rep.Stages {
		if (st.Stage == "eu" || st.Stage == "us") && (!strings.Contains(st.Note, "stopped at ap") || st.After != "1.2.0") {
			t.Errorf("%s: %+v", st.Stage, st)
		}
	}

	// The rerun goes through, waiting out eu's two 409s.
	rep, err = rollback(t, w, nil, "1.1.0", false)
	if err != nil || !rep.OK {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
	if got := strings.Join(w.deprecations(), ", "); got != "ca ==1.0.2, ap ==1.2.0, eu ==1.2.0, us ==1.2.0" {
		t.Errorf("deprecations after the rerun: %s", got)
	}
}

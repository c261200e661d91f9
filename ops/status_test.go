package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/ops"
)

// driftedWorld: weather released three times in us (at the cap of 3), with
// its newest commit numbered differently in eu (drift), ap behind with a
// pinned version, ca without the tool; one more weather commit and a
// calendar commit since.
func driftedWorld(t *testing.T) (*world, map[string]string) {
	w := newWorld(t)
	c := map[string]string{}
	c["c1"] = w.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("calendar", "calendar", "")))
	c["c2"] = w.commit("fix: rain", testkit.Touch("weather", "rain"))
	c["c3"] = w.commit("feat: wind", testkit.Touch("weather", "wind"))
	c["c4"] = w.commit("fix: gusts", testkit.Touch("weather", "gusts"))
	c["c5"] = w.commit("feat: holidays", testkit.Touch("calendar", "holidays"))
	w.seed("us", "weather", "-0.9.0@"+c["c1"], "1.0.0@"+c["c1"], "1.1.0@"+c["c2"], "1.2.0@"+c["c3"])
	w.seed("eu", "weather", "1.0.0@"+c["c1"], "1.1.0@"+c["c3"])
	w.seed("ap", "weather", "1.0.0@"+c["c1"])
	w.seed("us", "calendar", "1.0.0@"+c["c1"])
	return w, c
}

// TestStatus_driftedCappedPinned: per tool and stage, the serving version
// (newest non-deprecated), its commit, whether head contains it and how far
// behind it is (all commits and the tool's), the active versions against
// the cap, the pins, and drift (one commit numbered differently; a stage
// behind the first); no mutating call.
func TestStatus_driftedCappedPinned(t *testing.T) {
	w, c := driftedWorld(t)
	plan := w.plan(map[string]string{"eu": "active_cap: 2", "ap": "keep:\n  weather: [\"1.0.0\"]"})
	repo := w.repo()
	head := w.git("rev-parse", "HEAD")
	st, err := ops.Status(context.Background(), ops.StatusOptions{Plan: plan, Repo: repo, Head: head, Readers: w.readers(plan)})
	if err != nil {
		t.Fatal(err)
	}
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("status made mutating calls: %v", m)
	}
	if len(st.Tools) != 2 || st.Tools[0].Name != "calendar" || st.Tools[1].Name != "weather" {
		t.Fatalf("tools %+v", st.Tools)
	}
	weather := st.Tools[1]
	us, eu, ap, ca := weather.Stages[0], weather.Stages[1], weather.Stages[2], weather.Stages[3]
	if us.State != ops.StateServing || us.Version != "1.2.0" || us.Commit != c["c3"] || us.InHead == nil || !*us.InHead ||
		us.Behind != 2 || us.ToolBehind != 1 || strings.Join(us.Active, ",") != "1.2.0,1.1.0,1.0.0" || us.ActiveCap != 3 {
		t.Errorf("us: %+v", us)
	}
	if eu.Version != "1.1.0" || eu.Commit != c["c3"] || strings.Join(eu.Active, ",") != "1.1.0,1.0.0" || eu.ActiveCap != 2 {
		t.Errorf("eu: %+v", eu)
	}
	if ap.Version != "1.0.0" || ap.Behind != 4 || ap.ToolBehind != 3 || len(ap.Pinned) != 1 || ap.Pinned[0] != (ops.Pin{Version: "1.0.0", Active: true}) {
		t.Errorf("ap: %+v", ap)
	}
	if ca.State != ops.StateNoTool || ca.Version != "" || len(ca.Active) != 0 {
		t.Errorf("ca: %+v", ca)
	}
	drift := strings.Join(weather.Drift, "\n")
	for _, want := range []string{"commit " + c["c3"][:12] + " is 1.2.0 in us, 1.1.0 in eu", "ap is behind us: it serves 1.0.0 (" + c["c1"][:12] + "), us serves 1.2.0"} {
		if !strings.Contains(drift, want) {
			t.Errorf("drift does not say %q:\n%s", want, drift)
		}
	}
	cal := st.Tools[0]
	if cal.Stages[0].Version != "1.0.0" || cal.Stages[0].ToolBehind != 1 || cal.Stages[1].State != ops.StateNoTool {
		t.Errorf("calendar: %+v", cal.Stages)
	}

	// --tools: one tool, and a name that is no project still shows what
	// the servers have.
	st, err = ops.Status(context.Background(), ops.StatusOptions{Plan: plan, Repo: repo, Head: head, Readers: w.readers(plan), Tools: []string{"weather", "ghost"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Tools) != 2 || st.Tools[0].Name != "ghost" || st.Tools[0].Stages[0].State != ops.StateNoTool || len(st.Warnings) != 1 {
		t.Errorf("filtered status: %+v %v", st.Tools, st.Warnings)
	}

	// A project that cannot be a tool (a template) is a warning naming its
	// file; the tools' status is unchanged.
	w.commit("chore: a template", map[string]string{"tools/template/pyproject.toml": "[project]\nname = \"$pkg\"\n"})
	st, err = ops.Status(context.Background(), ops.StatusOptions{Plan: plan, Repo: w.repo(), Head: w.git("rev-parse", "HEAD"), Readers: w.readers(plan)})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Tools) != 2 || len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], "not a tool project: tools/template/pyproject.toml: [project].name: ") {
		t.Errorf("status with a template: tools %+v, warnings %q", st.Tools, st.Warnings)
	}
}

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/ops"
)

// seed creates tool in stage with versions "X.Y.Z@commit" (a leading "-"
// makes one deprecated), as earlier releases would have left them.
func (w *world) seed(stage, tool string, versions ...string) {
	w.t.Helper()
	w.Seed(stage, tool, "", versions...)
}

// deprecations lists the successful deprecations on every emulator in the
// order they happened, "stage ==X.Y.Z".
func (w *world) deprecations() []string { return w.Deprecations() }

// TestStatusDriftedCappedPinned: `status` on the built binary against four
// emulated regions: a tool at the cap in us, its newest commit numbered
// differently in eu, ap behind with a pinned version, no tool in ca; the
// table, --json, the GitHub Actions face (job summary), and not one
// mutating call.
func TestStatusDriftedCappedPinned(t *testing.T) {
	w := newWorld(t)
	c1 := w.commit("feat: tools", testkit.Files(w.plan(map[string]string{"eu": "active_cap: 2", "ap": "keep:\n  weather_lookup: [\"1.0.0\"]"}, ""),
		testkit.Project("weather", "weather_lookup", ""), testkit.Project("currency", "currency_convert", "")))
	c2 := w.commit("fix(weather): rain", testkit.Touch("weather", "rain"))
	c3 := w.commit("feat(weather): wind", testkit.Touch("weather", "wind"))
	w.commit("fix(weather): gusts", testkit.Touch("weather", "gusts"))
	w.checkout(0)
	w.seed("us", "weather_lookup", "-0.9.0@"+c1, "1.0.0@"+c1, "1.1.0@"+c2, "1.2.0@"+c3)
	w.seed("eu", "weather_lookup", "1.0.0@"+c1, "1.1.0@"+c3)
	w.seed("ap", "weather_lookup", "1.0.0@"+c1)
	w.seed("us", "currency_convert", "1.0.0@"+c1)

	r := w.inCheckout(nil, "status")
	r.wantCode(t, 0)
	wantContains(t, "status table", squeeze(r.stdout),
		"weather_lookup us 1.2.0 "+c3[:7]+" 1 behind (1 for the tool) 3/3: 1.2.0 1.1.0 1.0.0 —",
		"eu 1.1.0 "+c3[:7]+" 1 behind (1 for the tool) 2/2: 1.1.0 1.0.0 —",
		"ap 1.0.0 "+c1[:7]+" 3 behind (3 for the tool) 1/3: 1.0.0 1.0.0",
		"ca no tool",
		"drift: weather_lookup: commit "+c3[:12]+" is 1.2.0 in us, 1.1.0 in eu (each server numbers its own versions)",
		"drift: weather_lookup: ap is behind us: it serves 1.0.0 ("+c1[:12]+"), us serves 1.2.0 ("+c3[:12]+")",
		"currency_convert us 1.0.0 "+c1[:7]+" 3 behind (0 for the tool)")
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("status changed the emulators: %v", m)
	}

	r = w.inCheckout(nil, "status", "--json", "--tools", "weather_lookup")
	r.wantCode(t, 0)
	var st ops.StatusReport
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(st.Tools) != 1 || st.Tools[0].Stages[1].Version != "1.1.0" || st.Tools[0].Stages[1].Commit != c3 || len(st.Tools[0].Drift) != 2 ||
		st.Tools[0].Stages[2].Pinned[0] != (ops.Pin{Version: "1.0.0", Active: true}) {
		t.Errorf("--json: %+v", st.Tools)
	}

	gh := fakeci.NewGitHub(t, ghToken)
	env, _, sum := w.actionEnv(gh, "workflow_dispatch", map[string]any{}, c1, "refs/heads/main")
	env["INPUT_MODE"] = "status"
	w.run(w.work, env).wantCode(t, 0) // the Docker action's bare ENTRYPOINT: the mode input picks status
	wantContains(t, "job summary", readFile(t, sum), "### amigo-release status at", "| eu | 1.1.0 | `"+c3[:7]+"` |", "⚠️ Drift: commit "+c3[:12])
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("status changed the emulators: %v", m)
	}
}

// rolloutWorld: weather_lookup at three commits in four stages; ca numbers
// them 1.0.0, 1.0.1, 1.0.2; us pins 1.0.0 and smoke-tests; test inputs come
// from the project.
func rolloutWorld(t *testing.T, extra map[string]string, deprecated map[string]string) (*world, []string) {
	w := newWorld(t)
	inputs := "\n[[tool.amigo-release.test_inputs]]\ninput_parameters = { city = \"Oslo\" }\n"
	c1 := w.commit("feat: weather", testkit.Files(w.plan(extra, ""), testkit.Project("weather", "weather_lookup", inputs)))
	c2 := w.commit("fix(weather): rain", testkit.Touch("weather", "rain"))
	c3 := w.commit("feat(weather): wind", testkit.Touch("weather", "wind"))
	w.checkout(0)
	dep := func(s, v string) string {
		if deprecated[s] == v {
			return "-" + v
		}
		return v
	}
	for _, s := range []string{"us", "eu", "ap"} {
		w.seed(s, "weather_lookup", dep(s, "1.0.0")+"@"+c1, dep(s, "1.1.0")+"@"+c2, dep(s, "1.2.0")+"@"+c3)
	}
	w.seed("ca", "weather_lookup", dep("ca", "1.0.0")+"@"+c1, dep("ca", "1.0.1")+"@"+c2, dep("ca", "1.0.2")+"@"+c3)
	return w, []string{c1, c2, c3}
}

// TestRollbackFourStagesWithPin: `rollback` on the built binary: a dry run
// changes nothing; the rollback deprecates, the last stage first, each
// region's own number of every version newer than the target (found by its
// commit), never the pinned 1.0.0, then smoke-tests what serves where the
// stage has a smoke gate; --json and the action's rollback mode too.
func TestRollbackFourStagesWithPin(t *testing.T) {
	w, c := rolloutWorld(t, map[string]string{"us": "smoke: true\nkeep:\n  weather_lookup: [\"1.0.0\"]", "ca": "smoke: true"}, nil)

	r := w.inCheckout(nil, "rollback", "weather_lookup", "--to", "1.1.0", "--dry-run")
	r.wantCode(t, 0)
	wantContains(t, "dry run", squeeze(r.stdout), "dry run: nothing changed", "WOULD DEPRECATE", "ca 1.0.2 1.0.2 1.0.1", "us 1.2.0 1.2.0 1.1.0")
	if m := w.mutations(); len(m) != 0 {
		t.Fatalf("a dry run changed %v", m)
	}

	r = w.inCheckout(nil, "rollback", "--to", "1.1.0", "weather_lookup", "--json")
	r.wantCode(t, 0)
	var rep ops.RollbackReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if got := strings.Join(w.deprecations(), ", "); got != "ca ==1.0.2, ap ==1.2.0, eu ==1.2.0, us ==1.2.0" {
		t.Errorf("deprecations: %s; want the last stage first, each in its own numbers", got)
	}
	w.wantLiveIn(map[string][]string{"us": {"1.0.0", "1.1.0"}, "eu": {"1.0.0", "1.1.0"}, "ap": {"1.0.0", "1.1.0"}, "ca": {"1.0.0", "1.0.1"}})
	if !rep.OK || rep.Commit != c[1] || len(rep.Stages) != 4 || rep.Stages[0].Stage != "ca" || rep.Stages[0].After != "1.0.1" ||
		rep.Stages[3].SmokeOK == nil || !*rep.Stages[3].SmokeOK || rep.Stages[1].SmokeOK != nil {
		t.Errorf("report %+v", rep)
	}
	invokes := map[string]int{}
	for _, s := range w.stages {
		for _, q := range w.server(s).Requests() {
			if q.OperationID == amigotest.OpInvokeVersion {
				invokes[s]++
			}
		}
	}
	if invokes["us"] != 1 || invokes["ca"] != 1 || invokes["eu"]+invokes["ap"] != 0 {
		t.Errorf("smoke invocations %v, want one in us and one in ca (their smoke gates)", invokes)
	}

	// The action's rollback mode (the Docker image's bare ENTRYPOINT) to a
	// commit: nothing newer is left, nothing changes, the summary says so.
	gh := fakeci.NewGitHub(t, ghToken)
	env, _, sum := w.actionEnv(gh, "workflow_dispatch", map[string]any{}, c[2], "refs/heads/main")
	env["INPUT_MODE"], env["INPUT_TOOL"], env["INPUT_TO"] = "rollback", "weather_lookup", c[1][:10]
	before := len(w.deprecations())
	w.run(w.work, env).wantCode(t, 0)
	if len(w.deprecations()) != before {
		t.Errorf("a second rollback to the same target deprecated more")
	}
	wantContains(t, "summary", readFile(t, sum), "✅ rolled back weather\\_lookup to", "| us | 1.1.0 | already serves the target | 1.1.0 | passed (1 input) |")
}

// TestRollbackRefused: a target whose version was deprecated in eu (pruned
// earlier) cannot come back: exit 2 naming eu, nothing changed; a pinned
// version newer than the target refuses too (exit 2, naming the stage and
// the pin).
func TestRollbackRefused(t *testing.T) {
	// eu pruned 1.0.0 long ago; ap pins 1.2.0.
	w, _ := rolloutWorld(t, map[string]string{"ap": "keep:\n  weather_lookup: [\"1.2.0\"]"}, map[string]string{"eu": "1.0.0"})

	r := w.inCheckout(nil, "rollback", "weather_lookup", "--to", "1.0.0")
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "rollback refused, nothing was changed: stage eu:", "deprecated versions cannot come back")
	r = w.inCheckout(nil, "rollback", "weather_lookup", "--to", "1.1.0")
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "stage ap: weather_lookup 1.2.0 is pinned (keep)", "remove 1.2.0 from stages[ap].keep.weather_lookup")
	if m := w.mutations(); len(m) != 0 {
		t.Errorf("a refused rollback changed %v", m)
	}
	r = w.inCheckout(nil, "rollback", "weather_lookup")
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "--to is required")
}

// wantLiveIn asserts the live version numbers per stage.
func (w *world) wantLiveIn(want map[string][]string) {
	w.t.Helper()
	for s, vs := range want {
		var got []string
		for _, v := range w.versions(s, "weather_lookup") {
			if !v.Deprecated {
				got = append(got, v.Version.String())
			}
		}
		if strings.Join(got, " ") != strings.Join(vs, " ") {
			w.t.Errorf("%s: live %v, want %v", s, got, vs)
		}
	}
}

// TestNotesCommand: `notes` prints a tool's notes for a range as markdown,
// grouped and escaped, from its newest tag by default, linked to the
// repository the origin remote names.
func TestNotesCommand(t *testing.T) {
	w := newWorld(t)
	c1 := w.commit("feat: tools", testkit.Files(w.plan(nil, ""), testkit.Project("weather", "weather_lookup", ""), testkit.Project("currency", "currency_convert", "")))
	w.commit("fix(weather)!: drop the v1 units", testkit.Touch("weather", "units"))
	w.commit("perf(weather): cache", testkit.Touch("weather", "cache"))
	w.commit(hostileFeat, testkit.Touch("weather", "radar"))
	w.commit("docs(weather): readme", map[string]string{"tools/weather/README.md": "# weather\n"})
	w.commit("fix(currency): rounding", testkit.Touch("currency", "rounding"))
	w.commit("feat(weather): beta", testkit.Touch("weather", "beta"))
	beta := w.gitIn(w.origin, "rev-parse", "HEAD")
	w.gitIn(w.origin, "revert", "--no-edit", beta)
	w.checkout(0)
	w.gitIn(w.work, "tag", "weather_lookup/v1.0.0", c1)
	w.gitIn(w.work, "tag", "weather_lookup/v0.9.0", c1+"~0")
	w.gitIn(w.work, "remote", "set-url", "origin", "git@github.com:acme/tools.git")

	r := w.run(w.work, map[string]string{}, "notes", "weather_lookup", "--version", "2.0.0")
	r.wantCode(t, 0)
	out := r.stdout
	wantContains(t, "notes", out, "## weather\\_lookup 2.0.0\n",
		"### ⚠️ Breaking changes\n\n- **weather:** drop the v1 units ([`",
		"### Features\n\n- **weather:** radar &lt;script&gt;alert(1)&lt;/script&gt; @\u200dacme/admins",
		"### Fixes\n\n- **weather:** cache",
		"### Other\n\n- **weather:** readme",
		"](https://github.com/acme/tools/commit/",
		"2 commits left out: reverted in the same range.")
	for _, bad := range []string{"<script>", "@acme/admins", "##vso[", "rounding", "three tools", "feat: tools"} {
		if strings.Contains(out, bad) {
			t.Errorf("notes hold %q:\n%s", bad, out)
		}
	}
	// An explicit range, and a range heading without --version.
	r = w.run(w.work, map[string]string{}, "notes", "--from", c1, "--to", "HEAD~6", "weather_lookup")
	r.wantCode(t, 0)
	wantContains(t, "range notes", r.stdout, "## weather\\_lookup ("+c1+"..HEAD\\~6)", "drop the v1 units")
	if strings.Contains(r.stdout, "cache") {
		t.Errorf("--to HEAD~6 includes later commits:\n%s", r.stdout)
	}
	// A tag as --to names its version; an unknown tool is exit 2.
	w.gitIn(w.work, "tag", "weather_lookup/v1.1.0", "HEAD")
	r = w.run(w.work, map[string]string{}, "notes", "weather_lookup", "--to", "weather_lookup/v1.1.0")
	r.wantCode(t, 0)
	wantContains(t, "tagged notes", r.stdout, "## weather\\_lookup 1.1.0\n")
	r = w.run(w.work, map[string]string{}, "notes", "nope")
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, `"nope" is not a tool project`, "currency_convert, weather_lookup")
}

// squeeze collapses runs of spaces, so table rows compare whatever the
// column widths.
func squeeze(s string) string {
	return regexp.MustCompile(` {2,}`).ReplaceAllString(s, " ")
}

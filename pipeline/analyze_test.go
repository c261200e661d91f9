package pipeline_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

func TestRun_minorAndMajorBumps(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather tool", testkit.Project("weather", "weather", ""))
	h.commit("feat: flights tool", testkit.Project("flights", "flights", ""))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first run failed: %v\n%s", toolNames(rep), h.log)
	}

	h.commit("feat(weather): add forecast days", testkit.Touch("weather", "v2"))
	h.commit("fix(flights): handle delays", testkit.Touch("flights", "v2"))
	rep := h.run(plan, nil)
	if got := stage(t, tool(t, rep, "weather"), "us"); got.VersionBefore != "1.0.0" || got.VersionAfter != "1.1.0" || got.Bump != "minor" {
		t.Errorf("weather after feat: %s → %s (%s), want 1.0.0 → 1.1.0 (minor)", got.VersionBefore, got.VersionAfter, got.Bump)
	}
	if got := stage(t, tool(t, rep, "flights"), "us"); got.VersionAfter != "1.0.1" {
		t.Errorf("flights after fix: %s, want 1.0.1", got.VersionAfter)
	}
	if tr := tool(t, rep, "weather"); tr.Bump != "minor" || len(tr.Commits) != 1 {
		t.Errorf("weather bump %q with %d commits, want minor from the one commit since 1.0.0's", tr.Bump, len(tr.Commits))
	}

	h.commit("feat(weather)!: cities by id only\n\nBREAKING CHANGE: the city parameter is gone", testkit.Touch("weather", "v3"))
	h.commit("docs: readme", map[string]string{"README.md": "hello\n"})
	rep = h.run(plan, nil)
	if got := stage(t, tool(t, rep, "weather"), "us"); got.VersionAfter != "2.0.0" {
		t.Errorf("weather after breaking change: %s, want 2.0.0", got.VersionAfter)
	}
	for _, tr := range rep.Tools {
		if tr.Name == "flights" {
			t.Errorf("flights did not change but is in the report: %+v", tr)
		}
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0", "1.1.0", "2.0.0"}) {
		t.Errorf("weather active versions = %v", got)
	}
}

func TestRun_skipStagesAndToolFilter(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu", "ap")
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", "[tool.amigo-release]\nskip_stages = [\"eu\"]\n"), testkit.Project("flights", "flights", ""), testkit.Project("hotels", "hotels", "")))
	plan := h.chain("")
	rep := h.run(plan, func(o *pipeline.Options) { o.Tools = []string{"weather", "flights", "trains"} })
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	w := tool(t, rep, "weather")
	if got := []pipeline.Status{stage(t, w, "us").Status, stage(t, w, "eu").Status, stage(t, w, "ap").Status}; !slices.Equal(got, []pipeline.Status{pipeline.StatusReleased, pipeline.StatusSkipped, pipeline.StatusReleased}) {
		t.Errorf("weather stages = %v, want released, skipped, released (ap needs the skipped eu)", got)
	}
	if _, ok := h.servers["eu"].ToolByName(org, "weather"); ok {
		t.Errorf("weather was created in the skipped stage eu")
	}
	if got := tool(t, rep, "hotels").Status; got != pipeline.StatusSkipped {
		t.Errorf("hotels = %s, want skipped (not in the tool filter)", got)
	}
	if _, ok := h.servers["us"].ToolByName(org, "hotels"); ok {
		t.Errorf("hotels was released despite the filter")
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), `"trains"`) {
		t.Errorf("warnings %v do not mention the unknown filter entry", rep.Warnings)
	}
}

func TestRun_noReleaseAndRemoved(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	before := h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first run: %v", toolNames(rep))
	}
	h.commit("chore(weather): tidy imports", testkit.Touch("weather", "tidy"))
	h.commit("feat!: drop flights", map[string]string{"tools/flights": ""})
	for _, srv := range h.servers {
		srv.ResetRequests()
	}
	// A project gone at head is not discovered, so its base is the push
	// event's before.
	rep := h.run(plan, func(o *pipeline.Options) { o.EventBefore = before })
	if !rep.OK() {
		t.Errorf("a run with nothing to release must be OK: %v", toolNames(rep))
	}
	if got := tool(t, rep, "weather"); got.Status != pipeline.StatusNoRelease || got.Reason == "" {
		t.Errorf("weather = %s (%q), want no-release with a reason", got.Status, got.Reason)
	}
	if got := tool(t, rep, "flights").Status; got != pipeline.StatusRemoved {
		t.Errorf("flights = %s, want removed", got)
	}
	for _, r := range h.servers["us"].Requests() {
		if r.Mutating() || r.OperationID == amigotest.OpTestTool {
			t.Errorf("sent %s %s with nothing to release", r.Method, r.Path)
		}
	}
}

func TestRun_shallowClone(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first release: %v", toolNames(rep))
	}
	h.commit("chore: unrelated", map[string]string{"README.md": "hi\n"})
	h.commit("fix(weather): units", testkit.Touch("weather", "v2"))
	clone := filepath.Join(t.TempDir(), "clone")
	h.git("clone", "-q", "--depth", "1", "file://"+h.dir, clone)

	// The released commit is not in the shallow clone: a clear error.
	rep, err := h.runErr(plan, func(o *pipeline.Options) { o.RepoPath = clone })
	if err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") || !strings.Contains(rep.Error, "fetch-depth: 0") {
		t.Fatalf("shallow clone without deepening: err %v, want one saying fetch-depth: 0", err)
	}
	if n := h.count("us", amigotest.OpPublishVersion, 0); n != 1 {
		t.Errorf("%d publishes, want only the first release's", n)
	}

	// With Deepen the history is fetched and the fix released as a patch.
	rep = h.run(plan, func(o *pipeline.Options) { o.RepoPath = clone; o.Deepen = &changes.DeepenOptions{} })
	if st := stage(t, tool(t, rep, "weather"), "us"); !rep.OK() || st.VersionAfter != "1.0.1" {
		t.Fatalf("after deepening: %s %s (%s), want released 1.0.1", st.Status, st.VersionAfter, st.Error)
	}
}

func TestRun_firstReleaseWithoutFeatOrFix(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("chore: add the weather tool", testkit.Project("weather", "weather", ""))
	rep := h.run(h.chain(""), nil)
	if !rep.OK() {
		t.Fatalf("run not OK: %v\n%s", toolNames(rep), h.log)
	}
	got := tool(t, rep, "weather")
	if got.Status != pipeline.StatusReleased || got.Bump != "major" {
		t.Fatalf("weather = %s bump %q (%s), want released as major: a tool never released goes out as 1.0.0", got.Status, got.Bump, got.Reason)
	}
	if v := got.Stages[0].VersionAfter; v != "1.0.0" {
		t.Errorf("version after = %q, want 1.0.0", v)
	}
}

func TestRun_firstReleaseReportsMajor(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: add the weather tool", testkit.Project("weather", "weather", ""))
	rep := h.run(h.chain(""), nil)
	got := tool(t, rep, "weather")
	if got.Status != pipeline.StatusReleased || got.Bump != "major" || got.Stages[0].VersionAfter != "1.0.0" {
		t.Fatalf("weather = %s bump %q version %q (%s); a first release is reported as the major it publishes", got.Status, got.Bump, got.Stages[0].VersionAfter, got.Reason)
	}
}

package pipeline_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
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

// discoveryPlan is a one-stage plan (the harness' first stage, test-gated)
// with the given discovery section and tail.
func discoveryPlan(t *testing.T, h *harness, discovery, tail string) *promote.Plan {
	t.Helper()
	y := fmt.Sprintf("version: 1\ndiscovery:\n%s\ndefaults:\n  organization: %s\n  branch: main\nstages:\n  - name: %s\n    base_url: %s\n    test: true\n%s",
		discovery, org, h.stages[0], h.servers[h.stages[0]].URL(), tail)
	p, err := promote.Parse("release.yaml", []byte(y))
	if err != nil {
		t.Fatalf("plan:\n%s\n%v", y, err)
	}
	return p
}

// TestRun_nonToolProjects (item 3 of issue 14): Python projects that are not
// tools (two examples with one name, a template named "$pkg", a fixture
// without a name) do not block a release that does not touch them: each
// is a warning naming its path. They are an error, naming the file and the
// fix, once this run would release one, or when the plan names the shared
// name; and nothing is published then.
func TestRun_nonToolProjects(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	init := h.commit("chore: init", testkit.Files(testkit.Project("weather", "weather", ""), map[string]string{
		"examples/one/pyproject.toml":  "[project]\nname = \"example\"\n",
		"examples/two/pyproject.toml":  "[project]\nname = \"example\"\n",
		"templates/pkg/pyproject.toml": "[project]\nname = \"$pkg\"\n",
		"templates/pkg/main.py":        "x = 1\n",
		"tests/fixture/pyproject.toml": "[project]\nversion = \"0.1\"\n",
		"placeholder/pyproject.toml":   "[project]\nname = \"---\"\n",
	}))
	feat := h.commit("feat(weather): units", testkit.Touch("weather", "1"))
	plan := discoveryPlan(t, h, "  roots: [.]", "")
	withBefore := func(before string) func(*pipeline.Options) {
		return func(o *pipeline.Options) { o.EventBefore = before }
	}

	rep := h.run(plan, withBefore(init))
	if !rep.OK() || len(rep.Tools) != 1 || rep.Tools[0].Name != "weather" || stage(t, rep.Tools[0], "us").Status != pipeline.StatusReleased {
		t.Fatalf("report = %+v\nlog:\n%s", rep, h.log)
	}
	warnings := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{
		`two projects are named "example": examples/one and examples/two`,
		"templates/pkg/pyproject.toml: [project].name",
		"tests/fixture/pyproject.toml: no [project].name",
		`placeholder/pyproject.toml: [project].name: name "---" gives the tool name "___"`,
		`add "templates/pkg" to discovery.exclude in release.yaml`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}

	// A feat to the template: this run would release it.
	h.commit("feat: a better template", map[string]string{"templates/pkg/main.py": "x = 2\n"})
	_, err := h.runErr(plan, withBefore(feat))
	if err == nil || !strings.Contains(err.Error(), "templates/pkg/pyproject.toml: [project].name") ||
		!strings.Contains(err.Error(), "this run would release it") || !strings.Contains(err.Error(), "discovery.exclude") {
		t.Fatalf("Run = %v, want the template's name as an error", err)
	}
	// One start problem, which holds the project's problem (file and line
	// for the CI's annotation).
	se, ok := errors.AsType[*pipeline.StartError](err)
	pr, isProblem := errors.AsType[*changes.Problem](err)
	if !ok || len(se.Problems) != 1 || !isProblem || pr.Pyproject != "templates/pkg/pyproject.toml" {
		t.Errorf("Run = %#v, want a StartError of the template's *changes.Problem", err)
	}
	if n := len(h.versions("us", "weather")); n != 1 {
		t.Errorf("weather has %d versions, want 1: nothing is published when a name blocks the run", n)
	}
	// Unless the tool filter leaves it out.
	rep, err = h.runErr(plan, func(o *pipeline.Options) {
		o.EventBefore = feat
		o.Tools = []string{"weather"}
		o.Mode = pipeline.ModePlan
	})
	if err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "templates/pkg/pyproject.toml") {
		t.Errorf("filtered: %v, warnings %q", err, rep.Warnings)
	}

	// A plan that names the shared name: an error even though nothing
	// touched the examples.
	named := discoveryPlan(t, h, "  roots: [.]", "tools:\n  example:\n    description: x\n")
	_, err = h.runErr(named, func(o *pipeline.Options) { o.EventBefore = h.git("rev-parse", "HEAD"); o.Mode = pipeline.ModePlan })
	if err == nil || !strings.Contains(err.Error(), `two projects are named "example"`) || !strings.Contains(err.Error(), "tools.example in release.yaml names") {
		t.Errorf("Run = %v, want the clash as an error", err)
	}
	// Excluded, they are no projects at all: their files count for the
	// enclosing project, and nothing is said about them.
	excluded := discoveryPlan(t, h, "  roots: [.]\n  exclude: [examples, templates, tests, placeholder]", "")
	rep, err = h.runErr(excluded, func(o *pipeline.Options) { o.EventBefore = feat; o.Mode = pipeline.ModePlan })
	if err != nil || len(rep.Tools) != 0 || strings.Contains(strings.Join(rep.Warnings, "\n"), "pyproject.toml") {
		t.Errorf("excluded: %v, tools %+v, warnings %q", err, rep.Tools, rep.Warnings)
	}
}

// TestRun_discoveryTypos (item 4 of issue 14): a root, include or shared
// glob that matches nothing at head stops the run before any call, naming
// the plan file, the key and the value, instead of reporting "nothing to
// release".
func TestRun_discoveryTypos(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	h.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather", ""), map[string]string{"libs/common/c.py": "1"}))
	for _, tc := range []struct{ discovery, want string }{
		{"  roots: [tool]", `release.yaml: discovery.roots: "tool" is not a directory at head`},
		{"  roots: [tools]\n  include: [\"tool/*\"]", `release.yaml: discovery.include: "tool/*" matches no project`},
		{"  roots: [tools]\n  shared:\n    \"lib/common/**\": [weather]", `release.yaml: discovery.shared: "lib/common/**" matches no file at head`},
	} {
		_, err := h.runErr(discoveryPlan(t, h, tc.discovery, ""), func(o *pipeline.Options) { o.Mode = pipeline.ModeOffline })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Run = %v, want %q", tc.discovery, err, tc.want)
		}
		if se, ok := errors.AsType[*pipeline.StartError](err); !ok || len(se.Problems) != 1 {
			t.Errorf("%s: Run = %v, want a StartError with one problem", tc.discovery, err)
		}
	}
	if rs := h.servers["us"].Requests(); len(rs) != 0 {
		t.Errorf("%d calls to the server, want none", len(rs))
	}
}

// Issue 15, item 1: the test queue does not wait for the analysis. With
// 120 projects, reading every project's versions in the first stage takes
// two minutes (50 list-versions calls a minute), but test-tool needs no
// tool id: the first test goes out within seconds of the run's start,
// while the analysis goes on beside it, and every test is still sent once.
func TestRun_firstTestDoesNotWaitForTheAnalysis(t *testing.T) {
	const n = 120
	h := newSimRepo(t, "us", "eu")
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("tool_%03d", i))
	}
	files := testkit.Projects(names...)
	first := h.commit("feat: the tools", files)
	changed := map[string]string{}
	for _, name := range names {
		changed = testkit.Files(changed, testkit.Touch(name, "v2"))
	}
	h.commit("fix: every tool", changed)
	simulate(t, func(t *testing.T) {
		s, rep := seededRun(t, h, first, names...)
		var firstTest time.Time
		for _, r := range s.servers["us"].Requests() {
			if r.OperationID == amigotest.OpTestTool {
				firstTest = r.Time
				break
			}
		}
		if d := firstTest.Sub(rep.StartedAt); d > 5*time.Second {
			t.Errorf("the first test went out %s after the run started, want within 5s", d)
		}
		// The analysis reads a burst of 50 projects' versions at once, the
		// rest a minute and two minutes later: after the first test.
		later := 0
		for _, r := range s.servers["us"].Requests() {
			if r.OperationID == amigotest.OpListVersions && r.Time.After(firstTest) && r.Time.Sub(rep.StartedAt) < 3*time.Minute {
				later++
			}
		}
		if later < n-50 {
			t.Errorf("%d of the analysis' reads came after the first test, want the %d beyond the first burst: the analysis goes on beside the tests", later, n-50)
		}
		if got := s.requests(amigotest.OpTestTool); got != n {
			t.Errorf("%d test-tool calls, want one per tool (%d)", got, n)
		}
	})
}

// Issue 15, item 4: a release of existing tools through four stages costs
// 10 calls per tool (the goal: at most 12), every check kept: one list of
// its versions in the first stage in the analysis (it gives the base, and
// the versions step reuses it), its test, and in each stage a publish and
// verify's list after it (prune uses that list, and it is the stray check
// of that stage, strays.go). The later stages are not listed before
// publishing (the blind publish). Beside them, one page of tools and one
// sign-in per stage and run. Every stage still verifies the commit it
// serves.
func TestRun_callsPerToolForFourStages(t *testing.T) {
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	h := newSimRepo(t, "us", "eu", "ap", "ca")
	files, fixes := testkit.Projects(names...), testkit.Touches("fixed", names...)
	first := h.commit("feat: tools", files)
	head := h.commit("fix: every tool", fixes)
	simulate(t, func(t *testing.T) {
		s, rep := seededRun(t, h, first, names...)
		total := 0
		for _, srv := range s.servers {
			total += len(srv.Requests())
		}
		perRun := s.requests(amigotest.OpListTools) + s.requests(amigotest.OpSignIn)
		if per := float64(total-perRun) / float64(len(names)); per > 10 {
			t.Errorf("%d calls for %d tools (%d per run): %.2f a tool, want at most 10", total, len(names), perRun, per)
		}
		want := map[string]int{
			amigotest.OpListVersions:   5 * len(names), // the analysis' in the first stage, then verify's in each stage
			amigotest.OpPublishVersion: 4 * len(names),
			amigotest.OpTestTool:       len(names),
			amigotest.OpListTools:      4, // one page a stage
			amigotest.OpSignIn:         4,
		}
		for op, n := range want {
			if got := s.requests(op); got != n {
				t.Errorf("%s: %d calls, want %d", op, got, n)
			}
		}
		for _, tr := range rep.Tools {
			for _, st := range tr.Stages {
				verified := false
				for _, step := range st.Steps {
					verified = verified || step.Name == "verify" && step.Status == pipeline.StatusDone
				}
				if st.Status != pipeline.StatusReleased || st.CommitHash != head || !verified || st.VersionBefore != "1.0.0" {
					t.Errorf("%s in %s: %s, commit %s, verified %v, before %q; want released, %s verified, before 1.0.0", tr.Name, st.Stage, st.Status, st.CommitHash, verified, st.VersionBefore, changes.ShortSHA(head))
				}
			}
		}
	})
}

// The early feed never sends a test in a run that then does not start: a
// project at head that cannot be a tool stops the run when the range
// releases it, which only the full detection tells, so with such a
// project the tests wait for the analysis.
func TestRun_noEarlyTestWhenAProjectCannotBeATool(t *testing.T) {
	names := []string{"alpha", "bravo", "charlie", "delta"}
	h := newSimRepo(t, "us", "eu")
	files := map[string]string{"tools/template/pyproject.toml": "[project]\nname = \"$pkg\"\n", "tools/template/main.py": "x = 1\n"}
	fixes := map[string]string{"tools/template/main.py": "x = 2\n"}
	files = testkit.Files(files, testkit.Projects(names...))
	fixes = testkit.Files(fixes, testkit.Touches("fixed", names...))
	first := h.commit("feat: tools", files)
	h.commit("fix: every tool and the template", fixes)
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, names...)
		_, err := s.runErr(s.plan(""), nil)
		if err == nil || !strings.Contains(err.Error(), "tools/template/pyproject.toml") || !strings.Contains(err.Error(), "this run would release it") {
			t.Fatalf("Run = %v, want the template's start problem\n%s", err, h.log)
		}
		if got := s.requests(amigotest.OpTestTool); got != 0 {
			t.Errorf("%d test-tool calls in a run that did not start, want none", got)
		}
	})
}

// The first release of a tool publishes 1.0.0 of the head commit, every
// step done and logged.
func TestRun_firstRelease(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	head := h.commit("feat: weather tool", testkit.Project("weather", "weather", ""))
	rep := h.run(h.chain(""), nil)
	if !rep.OK() {
		t.Fatalf("report not OK: %+v\nlog:\n%s", rep, h.log)
	}
	tr := tool(t, rep, "weather")
	st := stage(t, tr, "us")
	if st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" || st.VersionBefore != "" {
		t.Errorf("us: status %s, %q → %q; want released, \"\" → 1.0.0 (%s)", st.Status, st.VersionBefore, st.VersionAfter, st.Error)
	}
	if st.CommitHash != head {
		t.Errorf("us commit = %s, want %s", st.CommitHash, head)
	}
	// A step that went through is done: only a stage is released.
	if len(st.Steps) == 0 {
		t.Errorf("us: no steps reported")
	}
	for _, sr := range st.Steps {
		if sr.Status != pipeline.StatusDone {
			t.Errorf("us step %s: status %s, want %s", sr.Name, sr.Status, pipeline.StatusDone)
		}
	}
	if len(st.Tests) != 1 || !st.Tests[0].Succeeded {
		t.Errorf("us tests = %+v, want one passing input", st.Tests)
	}
	if len(tr.Commits) != 1 || tr.Commits[0].Type != "feat" {
		t.Errorf("commits = %+v, want the one feat commit", tr.Commits)
	}
	vs := h.versions("us", "weather")
	if len(vs) != 1 || vs[0].Version.String() != "1.0.0" || vs[0].ToolCommitHash != head {
		t.Fatalf("emulator versions = %+v, want 1.0.0 at %s", vs, head)
	}
	tl, _ := h.servers["us"].ToolByName(org, "weather")
	if tl.Description != "The weather tool." {
		t.Errorf("tool description = %q, want the project's", tl.Description)
	}
	for _, want := range []string{"weather us ensure: created", "weather us test: 1 inputs passed", "weather us publish: published 1.0.0 (major)", "weather us verify"} {
		if !strings.Contains(h.log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, h.log)
		}
	}
	// One line per step, each with the elapsed time, the tool and the
	// stage, grouped under the tool's title.
	group := strings.SplitAfter(h.log.String(), "▸ weather: released us=1.0.0\n")
	if len(group) != 2 {
		t.Fatalf("no group titled with the tool's outcome:\n%s", h.log)
	}
	lineRE := regexp.MustCompile(`^  \[\+[0-9hms.]+\] weather us (\w+): .+`)
	var logged []string
	for _, ln := range strings.Split(strings.TrimRight(group[1], "\n"), "\n") {
		if !strings.HasPrefix(ln, "  ") {
			break
		}
		m := lineRE.FindStringSubmatch(ln)
		if m == nil {
			t.Errorf("step line %q lacks elapsed time, tool or stage", ln)
			continue
		}
		logged = append(logged, m[1])
	}
	var steps []string
	for _, sr := range st.Steps {
		steps = append(steps, sr.Name)
	}
	if !slices.Equal(logged, steps) || len(steps) < 5 {
		t.Errorf("logged steps %v, report steps %v: want one line per step (ensure, versions, test, publish, verify)", logged, steps)
	}
}

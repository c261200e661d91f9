package pipeline_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

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

package pipeline_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// TestRun_capScenarioUnderBothRules releases three tools that each have
// three active versions, one after the other, to a server under each
// reading of the active cap, and counts the calls. Literal: each publish is
// accepted (4 active) and the prune step deprecates one. Strict: the first
// publish is refused, teaching the run; the first tool prunes and retries,
// the next two make room first and publish once. Both end in the same
// state: nothing deprecated beyond what the cap requires.
func TestRun_capScenarioUnderBothRules(t *testing.T) {
	tools := []string{"alpha", "beta", "gamma"}
	for _, c := range []struct {
		rule                       amigotest.CapRule
		publishes, refused, deprec int
		listVersions               int
	}{
		// Per tool: the analysis' (which the versions step uses) and
		// verify's (which prune uses) = 2 lists.
		{amigotest.CapLiteral, 3, 0, 3, 6},
		// Plus one list after the refusal, for the first tool only.
		{amigotest.CapStrict, 4, 1, 3, 7},
	} {
		t.Run(string(c.rule), func(t *testing.T) {
			h := newHarness(t, amigotest.Options{CapRule: c.rule}, "us")
			var files []map[string]string
			for _, n := range tools {
				files = append(files, testkit.Project(n, n, ""))
			}
			first := h.commit("feat: tools", testkit.Files(files...))
			srv := h.servers["us"]
			for _, n := range tools {
				id, err := srv.AddTool(org, amigotest.SeedTool{Name: n, Description: fmt.Sprintf("The %s tool.", n)})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
					if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: v, Commit: first, ProjectDirectory: "tools/" + n}); err != nil {
						t.Fatal(err)
					}
				}
			}
			var fixes []map[string]string
			for _, n := range tools {
				fixes = append(fixes, testkit.Touch(n, "fixed"))
			}
			h.commit("fix: all tools", testkit.Files(fixes...))
			srv.ResetRequests()

			// One tool at a time, so that the order of learning is fixed.
			plan := h.plan("", []stageSpec{{name: "us", extra: "concurrency: 1"}}, "")
			rep := h.run(plan, nil)
			if !rep.OK() {
				t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
			}
			for _, n := range tools {
				if got := h.active("us", n); !slices.Equal(got, []string{"1.1.0", "1.2.0", "1.2.1"}) {
					t.Errorf("%s active %v, want [1.1.0 1.2.0 1.2.1]", n, got)
				}
			}
			got := struct{ publishes, refused, deprec, lists int }{
				h.count("us", amigotest.OpPublishVersion, 0), h.count("us", amigotest.OpPublishVersion, 400),
				h.count("us", amigotest.OpDeprecateVersions, 0), h.count("us", amigotest.OpListVersions, 0),
			}
			want := struct{ publishes, refused, deprec, lists int }{c.publishes, c.refused, c.deprec, c.listVersions}
			if got != want {
				t.Errorf("calls (publishes, refused, deprecations, version lists) = %+v, want %+v\n%s", got, want, h.log)
			}
			if rep.Stats.PublishAttempts != c.publishes {
				t.Errorf("report counts %d publish attempts, the server saw %d", rep.Stats.PublishAttempts, c.publishes)
			}
		})
	}
}

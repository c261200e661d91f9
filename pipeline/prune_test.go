package pipeline_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

func TestRun_capPruningWithPinnedVersion(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	srv := h.servers["us"]
	h.seed("us", "weather", "1.0.0@"+first, "1.1.0@"+first, "1.2.0@"+first, "1.3.0@"+first)
	h.commit("feat(weather): forecast", testkit.Touch("weather", "v2"))
	plan := h.plan("", []stageSpec{{name: "us", extra: "active_cap: 2\nkeep:\n  weather: [\"1.0.0\"]"}}, "")
	rep := h.run(plan, nil)
	st := stage(t, tool(t, rep, "weather"), "us")
	if !rep.OK() || st.VersionAfter != "1.4.0" {
		t.Fatalf("us = %s %s (%s), want released 1.4.0\n%s", st.Status, st.VersionAfter, st.Error, h.log)
	}
	// 4 active (> cap 3): the publish is refused, 1.1.0 (oldest unpinned)
	// goes, the retry succeeds; then active_cap 2 keeps 1.4.0, 1.3.0 and
	// the pinned 1.0.0.
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.0.0", "1.3.0", "1.4.0"}) {
		t.Errorf("active = %v, want [1.0.0 1.3.0 1.4.0]", got)
	}
	if !slices.Equal(st.Pruned, []string{"1.1.0", "1.2.0"}) {
		t.Errorf("pruned = %v, want [1.1.0 1.2.0]", st.Pruned)
	}
	if st.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (refused for the cap, then retried once)", st.Attempts)
	}
	if rep.Stats.CapPrunes != 1 || rep.Stats.Pruned != 2 {
		t.Errorf("stats = %+v, want 1 cap prune of 2 pruned", rep.Stats)
	}
	for _, r := range srv.Requests() {
		if r.OperationID == amigotest.OpDeprecateVersions && !strings.Contains(r.Path, "%3D%3D") && !strings.Contains(r.Path, "==") {
			t.Errorf("deprecation %s is not an exact ==X.Y.Z constraint", r.Path)
		}
	}
}

func TestRun_driftBetweenRegions(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	// eu already has an older 1.0.0 (numbered on its own): the same commit
	// becomes 1.0.0 in us and 1.1.0 in eu.
	h.seed("eu", "weather", "1.0.0@"+first)
	head := h.commit("feat(weather): more", testkit.Touch("weather", "v2"))
	rep := h.run(h.chain(""), nil)
	w := tool(t, rep, "weather")
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	if us, eu := stage(t, w, "us"), stage(t, w, "eu"); us.VersionAfter != "1.0.0" || eu.VersionAfter != "1.1.0" || us.Bump != "major" || eu.Bump != "minor" {
		t.Fatalf("us %s (%s) eu %s (%s), want 1.0.0 (major: the tool's first there) and 1.1.0 (minor)", us.VersionAfter, us.Bump, eu.VersionAfter, eu.Bump)
	}
	if !strings.Contains(w.Drift, "us 1.0.0") || !strings.Contains(w.Drift, "eu 1.1.0") || !strings.Contains(w.Drift, head[:12]) {
		t.Errorf("drift = %q, want both stages' numbers and the commit", w.Drift)
	}
}

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
				h.seed("us", n, "1.0.0@"+first, "1.1.0@"+first, "1.2.0@"+first)
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

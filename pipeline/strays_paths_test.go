package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// No path of a run goes around the stray check (strays.go): whatever the
// options that narrow or speed up the analysis (an explicit base, a tool
// filter as a fan-out job has, a history that finds the tools by id, the
// early test feed, a plan), every run asks every later stage about every
// project and withdraws (a plan: says it would withdraw) a version that
// serves beyond a stage that never served its commit. Here eu serves
// weather 1.0.1 of a commit us never served, and only flights changed.
func TestRun_straysFoundOnEveryPath(t *testing.T) {
	cases := []struct {
		name string
		opts func(o *pipeline.Options, tested string, history *pipeline.History)
		plan bool
	}{
		{"default", nil, false},
		{"explicit base", func(o *pipeline.Options, tested string, _ *pipeline.History) { o.Base = tested }, false},
		{"tool filter of another tool", func(o *pipeline.Options, _ string, _ *pipeline.History) { o.Tools = []string{"flights"} }, false},
		{"history with tool ids", func(o *pipeline.Options, _ string, hi *pipeline.History) { o.History = hi }, false},
		{"plan", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newSimRepo(t, "us", "eu", "ap")
			tested := h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				plan := s.plan("")
				first := s.run(plan, nil)
				if !first.OK() || len(first.Tools) != 2 {
					t.Fatalf("first release: %v\n%s", toolNames(first), h.log)
				}
				raw, err := json.Marshal(first)
				if err != nil {
					t.Fatal(err)
				}
				history, err := pipeline.ReadHistory("history.json", bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				untested := h.commit("chore: pushed while eu's publish was building", map[string]string{"README.md": "moved\n"})
				eu, _ := s.servers["eu"].ToolByName(org, "weather")
				if _, err := s.servers["eu"].AddVersion(org, eu.ID, amigotest.SeedVersion{Version: "1.0.1", Commit: untested, ProjectDirectory: "tools/weather"}); err != nil {
					t.Fatal(err)
				}
				h.commit("fix(flights): retry", testkit.Touch("flights", "retry"))
				h.log.Reset()
				for _, srv := range s.servers {
					srv.ResetRequests()
				}
				mutate := func(o *pipeline.Options) {
					if c.opts != nil {
						c.opts(o, tested, history)
					}
				}
				if c.plan {
					getenv := func(k string) string { return h.env[k] }
					o := pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: clock.Real{}, Getenv: getenv,
						Clients: pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, HTTPClient: &http.Client{Transport: s}})}
					mutate(&o)
					rep, err := pipeline.Preview(context.Background(), o)
					if err != nil {
						t.Fatal(err)
					}
					if w := strings.Join(stage(t, tool(t, rep, "weather"), "eu").Warnings, "\n"); !strings.Contains(w, "a run withdraws it (deprecates 1.0.1 there)") {
						t.Errorf("plan: eu warnings %q do not say a run withdraws 1.0.1", w)
					}
					if got := s.servers["eu"].ActiveVersions(org, eu.ID); !slices.Contains(got, "1.0.1") {
						t.Errorf("plan changed eu: active %v", got)
					}
					return
				}
				rep := s.run(plan, mutate)
				if rep.Stats.Withdrawn != 1 {
					t.Errorf("%d withdrawn, want 1 (weather 1.0.1 in eu)\n%s", rep.Stats.Withdrawn, h.log)
				}
				for _, v := range s.servers["eu"].Versions(org, eu.ID) {
					if v.ToolCommitHash == untested && !v.Deprecated {
						t.Errorf("eu still serves %s of the untested %s\n%s", v.Version, changes.ShortSHA(untested), h.log)
					}
				}
				// Every project was asked about in every later stage.
				for _, sn := range []string{"eu", "ap"} {
					asked := map[string]bool{}
					for _, r := range s.servers[sn].Requests() {
						if r.OperationID == amigotest.OpListVersions {
							asked[r.Path] = true
						}
					}
					if len(asked) < 2 {
						t.Errorf("%s: versions listed for %d tools, want both", sn, len(asked))
					}
				}
			})
		})
	}
}

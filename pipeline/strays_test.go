package pipeline_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// A run that stops (killed, or its grace ends) while a publish beyond the
// first stage builds, after the branch moved, leaves that stage serving a
// version of a commit no test passed on: verify never ran. The tool has
// not changed since the commit its first stage serves, so the next run
// from the moved tip used to find "nothing to release" and left the
// untested version serving in eu for good (the fault campaign's "serves a
// commit which never passed a test in us" and "which us (needed by eu)
// does not serve"). Every run now looks for such versions first: a plan
// says it would withdraw it; the run withdraws it before anything else
// and releases the tool again from the tip, through the test gate, so
// every stage ends up serving a tested commit.
func TestRun_rerunWithdrawsAVersionAStoppedRunLeftUntested(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBubbleHarness(t, amigotest.Options{}, "us", "eu")
		tested := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
		plan := h.chain("")
		stop := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var moved string
		opts := pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }, Stop: stop, Logger: pipeline.NewTextLogger(h.log)}
		def := pipeline.DefaultClientFactory(h.clientConfig())
		opts.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if err != nil || st.Name != "eu" {
				return api, err
			}
			return &publishHook{API: api, before: func(amigo.PublishRequest) error {
				// A push lands as eu's publish goes out; the run is
				// interrupted, and its grace (1 s) ends long before the
				// publish's 1–2 minutes: a killed CI job.
				moved = h.commit("chore: pushed while eu's publish was building", map[string]string{"README.md": "moved\n"})
				close(stop)
				go func() { time.Sleep(time.Second); cancel() }()
				return nil
			}}, nil
		}
		first, _ := pipeline.Run(ctx, opts)
		if eu := stage(t, tool(t, first, "weather"), "eu"); eu.Status != pipeline.StatusUnknown {
			t.Fatalf("first run: eu %s (%s), want unknown: the publish was in flight when the run stopped", eu.Status, eu.Error)
		}
		time.Sleep(time.Hour) // the server finishes the build the run left
		untested := ""
		for _, v := range h.versions("eu", "weather") {
			if v.ToolCommitHash == moved && !v.Deprecated {
				untested = v.Version.String()
			}
		}
		if untested == "" {
			t.Fatalf("eu serves %v: no version of the moved commit %s, the test proves nothing", h.versions("eu", "weather"), moved[:12])
		}

		// A plan says what a run will do about it, and changes nothing.
		planned, err := pipeline.Preview(context.Background(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] },
			Clients: pipeline.DefaultClientFactory(h.clientConfig())})
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(stage(t, tool(t, planned, "weather"), "eu").Warnings, "\n"); !strings.Contains(w, "a run withdraws it (deprecates "+untested+" there)") {
			t.Errorf("plan: eu warnings %q do not say the run withdraws %s", w, untested)
		}

		h.log.Reset()
		rep := h.run(plan, nil)
		if !rep.OK() {
			t.Fatalf("rerun not OK: %v\n%s", toolNames(rep), h.log)
		}
		w := tool(t, rep, "weather")
		eu := stage(t, w, "eu")
		if len(eu.Withdrawn) != 1 || eu.Withdrawn[0] != untested || !strings.Contains(strings.Join(eu.Warnings, "\n"), "deprecated at once") {
			t.Errorf("eu withdrawn %v warnings %q: want %s withdrawn, with a warning saying why", eu.Withdrawn, eu.Warnings, untested)
		}
		if !strings.Contains(w.Reason, "released again from "+moved[:12]) {
			t.Errorf("reason %q does not say why an unchanged tool is released", w.Reason)
		}
		if us := stage(t, w, "us"); len(us.Tests) == 0 {
			t.Errorf("us ran no test before releasing %s", moved[:12])
		}
		// Every stage serves the moved commit, tested in us by this run;
		// nothing untested is live anywhere beyond us.
		for _, sn := range []string{"us", "eu"} {
			live := 0
			for _, v := range h.versions(sn, "weather") {
				if v.Deprecated {
					continue
				}
				switch v.ToolCommitHash {
				case moved:
					live++
					if sn == "eu" && v.Version.String() == untested {
						t.Errorf("eu still serves %s, the untested build", untested)
					}
				case tested:
				default:
					t.Errorf("%s serves %s of %s", sn, v.Version, v.ToolCommitHash[:12])
				}
			}
			if live != 1 {
				t.Errorf("%s: %d live versions of %s (%v), want 1", sn, live, moved[:12], h.versions(sn, "weather"))
			}
		}
		if rep.Stats.Withdrawn != 1 {
			t.Errorf("stats withdrawn %d, want 1", rep.Stats.Withdrawn)
		}
	})
}

// What findStrays must leave alone: a stage that lags behind a stage it
// needs (its promotion failed: the usual state a rerun finishes), and a
// version built from another history (here a commit of another branch,
// never in head's history). Neither is withdrawn, and a run that releases
// nothing for them leaves them serving.
func TestRun_laggingStagesAndOtherHistoriesAreNotWithdrawn(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
	// us keeps one version: the commit eu lags at is no longer live there.
	plan := h.plan("", []stageSpec{{name: "us", extra: "test: true\nactive_cap: 1"}, {name: "eu"}}, "")
	if rep := h.run(plan, nil); !rep.OK() {
		t.Fatalf("first release: %v\n%s", toolNames(rep), h.log)
	}
	// weather's next release fails in eu: eu lags at 1.0.0, us serves 1.1.0
	// only.
	h.commit("feat(weather): more", testkit.Touch("weather", "v2"))
	h.servers["eu"].FailNext(amigotest.OpPublishVersion, 1, http.StatusBadRequest, `{"detail":"Tool build has failed."}`)
	if rep := h.run(plan, nil); stage(t, tool(t, rep, "weather"), "eu").Status != pipeline.StatusFailed {
		t.Fatalf("second release: eu %s, want failed\n%s", stage(t, tool(t, rep, "weather"), "eu").Status, h.log)
	}
	// flights in eu also serves a version built on another branch.
	h.git("checkout", "-q", "-b", "hotfix")
	other := h.commit("fix(flights): hotfix on another branch", testkit.Touch("flights", "hotfix"))
	h.git("checkout", "-q", "main")
	fl, _ := h.servers["eu"].ToolByName(org, "flights")
	if _, err := h.servers["eu"].AddVersion(org, fl.ID, amigotest.SeedVersion{Version: "1.0.1", Commit: other, ProjectDirectory: "tools/flights"}); err != nil {
		t.Fatal(err)
	}
	// A run for a change to neither tool.
	h.commit("chore: docs", map[string]string{"README.md": "docs\n"})
	h.log.Reset()
	rep := h.run(plan, nil)
	if !rep.OK() || len(rep.Tools) != 0 || rep.Stats.Withdrawn != 0 {
		t.Fatalf("run: %v, %d withdrawn, want nothing released or withdrawn\n%s", toolNames(rep), rep.Stats.Withdrawn, h.log)
	}
	if got := h.active("us", "weather"); !slices.Equal(got, []string{"1.1.0"}) {
		t.Fatalf("us weather active %v, want 1.1.0 only: the test proves nothing", got)
	}
	if got := h.active("eu", "weather"); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("eu weather active %v, want the lagging 1.0.0 left serving", got)
	}
	if got := h.active("eu", "flights"); !slices.Equal(got, []string{"1.0.0", "1.0.1"}) {
		t.Errorf("eu flights active %v, want 1.0.0 and the other branch's 1.0.1 left alone", got)
	}
}

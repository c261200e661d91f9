package pipeline_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// A stage after the first publishes without listing its versions first:
// the analysis listed them (every stage, every project: the stray check,
// strays.go) and the versions step reuses that list. What a list read
// right before would have told is taken care of, each case here:

// The tool exists in the stage but has no version at all (a run that
// created it failed before publishing there): the analysis' list says so,
// and the stage publishes as major at once.
func TestRun_laterStageWithoutVersionsPublishesMajor(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.commit("fix: weather", testkit.Touch("weather", "fixed"))
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		testworld.Seed(t, s.servers["us"], org, "weather", "tools/weather", "1.0.0@"+first)
		testworld.Seed(t, s.servers["eu"], org, "weather", "tools/weather") // the tool, no version
		rep := s.run(s.plan(""), nil)
		eu := stage(t, tool(t, rep, "weather"), "eu")
		if !rep.OK() || eu.VersionAfter != "1.0.0" || eu.Bump != "major" {
			t.Fatalf("eu: %s %s (%s), want released 1.0.0 (major)\n%s", eu.Status, eu.VersionAfter, eu.Bump, h.log)
		}
		if got := s.requests(amigotest.OpPublishVersion); got != 2 {
			t.Errorf("%d publishes, want 2 (us, eu as major)", got)
		}
	})
}

// A version of the commit is already in eu (put there by hand) while us,
// the stage eu needs, never served that commit: no test is known to have
// passed on it, so it is a stray, withdrawn before anything else changes
// (strays.go), and eu serves the version this run publishes after the test.
// (Before the stray check, that hand-made version was adopted.)
func TestRun_laterStageVersionOfAnUntestedCommitIsWithdrawn(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	head := h.commit("fix: weather", testkit.Touch("weather", "fixed"))
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, "weather")
		euID := testworld.Seed(t, s.servers["eu"], org, "weather", "tools/weather", "1.1.0@"+head)
		rep := s.run(s.plan(""), nil)
		st := stage(t, tool(t, rep, "weather"), "eu")
		if !rep.OK() || st.Status != pipeline.StatusReleased || st.VersionAfter != "1.1.1" || !slices.Equal(st.Withdrawn, []string{"1.1.0"}) || rep.Stats.Withdrawn != 1 {
			t.Fatalf("eu: %s %s, withdrawn %v; want 1.1.1 released after the test, the untested 1.1.0 withdrawn\n%s", st.Status, st.VersionAfter, st.Withdrawn, h.log)
		}
		if len(stage(t, tool(t, rep, "weather"), "us").Tests) == 0 {
			t.Errorf("us ran no test")
		}
		if got := s.servers["eu"].ActiveVersions(org, euID); !slices.Equal(got, []string{"1.0.0", "1.1.1"}) {
			t.Errorf("eu active %v, want [1.0.0 1.1.1]", got)
		}
	})
}

// movingPublish commits to the branch right before its stage's first
// publish reaches the server (a push landing mid-release).
type movingPublish struct {
	pipeline.API
	h    *harness
	done bool
}

func (m *movingPublish) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	if !m.done {
		m.done = true
		m.h.commit("feat(weather): pushed during the release", testkit.Touch("weather", "moved"))
	}
	return m.API.PublishVersion(ctx, id, req)
}

// A publish whose answer is lost while the branch moved built the new tip
// (the API builds the tip), which was never tested: its version, of a
// commit that did not exist when the run checked the tips, is found as the
// attempt's and withdrawn at once, as where the versions were listed
// first (beyond the first stage nothing untested serves); nothing is
// published again. Before, the stage stopped with an unknown outcome and
// the untested version kept serving (the fault campaign found it).
func TestRun_laterStageWithdrawsTheMovedTipAfterALostAnswer(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	first := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.commit("fix: weather", testkit.Touch("weather", "fixed"))
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{})
		s.seed(first, "weather")
		s.servers["eu"].DropAfterWork(amigotest.OpPublishVersion, 1)
		getenv := func(k string) string { return h.env[k] }
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, Clock: clock.Real{}, HTTPClient: &http.Client{Transport: s}})
		mover := &movingPublish{h: h}
		rep := s.run(s.plan(""), func(o *pipeline.Options) {
			o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
				api, err := def(ctx, st)
				if st.Name == "eu" {
					mover.API = api
					api = mover
				}
				return api, err
			}
		})
		eu := stage(t, tool(t, rep, "weather"), "eu")
		if eu.Status != pipeline.StatusFailed || !strings.Contains(eu.Error, "untested commit") || len(eu.Withdrawn) != 1 {
			t.Fatalf("eu: %s (%s), withdrawn %v; want failed as an untested commit, its version withdrawn\n%s", eu.Status, eu.Error, eu.Withdrawn, h.log)
		}
		tl, _ := s.servers["eu"].ToolByName(org, "weather")
		if got := s.servers["eu"].ActiveVersions(org, tl.ID); !slices.Equal(got, []string{"1.0.0"}) {
			t.Errorf("eu active %v, want [1.0.0]: nothing untested serves beyond the first stage", got)
		}
		if got := s.servers["eu"].Requests(); countOp(got, amigotest.OpPublishVersion) != 1 {
			t.Errorf("eu got %d publishes, want 1: nothing is published again", countOp(got, amigotest.OpPublishVersion))
		}
	})
}

func countOp(reqs []amigotest.LoggedRequest, op string) int {
	n := 0
	for _, r := range reqs {
		if r.OperationID == op {
			n++
		}
	}
	return n
}

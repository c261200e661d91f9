package pipeline_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// staleVersions answers the first list-versions call with a version that
// serves commit, as if the analysis saw a release that was deprecated
// before the stage ran.
type staleVersions struct {
	pipeline.API
	mu     sync.Mutex
	calls  int
	commit string
}

func (s *staleVersions) Versions(ctx context.Context, id string) ([]amigo.ToolVersion, error) {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		return []amigo.ToolVersion{{ToolID: id, Version: amigo.Version{Major: 1}, ToolCommitHash: s.commit}}, nil
	}
	return s.API.Versions(ctx, id)
}

func TestRun_neverPublishesUntested(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	if _, err := h.servers["eu"].AddTool(org, amigotest.SeedTool{Name: "weather", Description: "The weather tool."}); err != nil {
		t.Fatal(err)
	}
	plan := h.plan("", []stageSpec{{name: "us"}, {name: "eu", extra: "test: true"}}, "")
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "eu" {
				api = &staleVersions{API: api, commit: head}
			}
			return api, err
		}
	})
	eu := stage(t, tool(t, rep, "weather"), "eu")
	if !rep.OK() || eu.Status != pipeline.StatusReleased {
		t.Fatalf("eu = %s (%s), want released\n%s", eu.Status, eu.Error, h.log)
	}
	if n := h.count("eu", amigotest.OpTestTool, 200); n != 1 || len(eu.Tests) != 1 {
		t.Errorf("eu sent %d tests (report has %d results), want 1: never publish untested", n, len(eu.Tests))
	}
}

// movingBranch commits to the repository's branch just before the first
// publish reaches the server, as a push landing during a release would.
type movingBranch struct {
	pipeline.API
	once  sync.Once
	moved chan string
	h     *harness
	files map[string]string // what the push changes (default: weather's source)
}

func (m *movingBranch) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	m.once.Do(func() {
		files := m.files
		if files == nil {
			files = testkit.Touch("weather", "moved")
		}
		m.moved <- m.h.commit("feat(weather): pushed during the release", files)
	})
	return m.API.PublishVersion(ctx, id, req)
}

func TestRun_verifyReportsUntestedPublishedCommit(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	head := h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.chain("")
	moved := make(chan string, 1)
	rep := h.run(plan, func(o *pipeline.Options) {
		def := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: o.Getenv, Clock: o.Clock})
		o.Clients = func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
			api, err := def(ctx, st)
			if st.Name == "us" {
				api = &movingBranch{API: api, moved: moved, h: h}
			}
			return api, err
		}
	})
	newTip := <-moved
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed {
		t.Fatalf("us = %s, want failed: the published commit is not the tested one\n%s", us.Status, h.log)
	}
	if us.CommitHash != newTip || !strings.Contains(us.Error, "not the tested commit") || !strings.Contains(us.Error, head[:12]) || !strings.Contains(us.Error, newTip[:12]) {
		t.Errorf("us commit %s error %q, want the published %s and the tested %s named", us.CommitHash, us.Error, newTip[:12], head[:12])
	}
	if eu := stage(t, w, "eu"); eu.Status != pipeline.StatusBlocked {
		t.Errorf("eu = %s, want blocked: an untested commit is not promoted", eu.Status)
	}
	if n := h.count("eu", amigotest.OpPublishVersion, 0); n != 0 {
		t.Errorf("eu got %d publishes", n)
	}
	if !strings.Contains(h.log.String(), "weather us verify: failed") {
		t.Errorf("log lacks the failed verify step:\n%s", h.log)
	}
}

func TestRun_failingTestGate(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
	plan := h.chain(`tools:
  weather:
    test_inputs:
      - input_parameters: {city: Paris}
      - input_parameters: {city: Nowhere, raise: "KeyError: city not found"}
`)
	rep := h.run(plan, nil)
	if rep.OK() {
		t.Fatalf("report OK despite a failing test input")
	}
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if w.Status != pipeline.StatusFailed || us.Status != pipeline.StatusFailed {
		t.Fatalf("weather %s / us %s, want failed/failed", w.Status, us.Status)
	}
	if len(us.Tests) != 2 || !us.Tests[0].Succeeded || us.Tests[1].Succeeded {
		t.Fatalf("tests = %+v, want input 1 passing and input 2 failing", us.Tests)
	}
	f := us.Tests[1]
	if f.ExceptionType != "KeyError" || f.Message != "city not found" || len(f.StackTrace) == 0 {
		t.Errorf("failed input: type %q message %q trace %v; want KeyError, city not found, a stack trace", f.ExceptionType, f.Message, f.StackTrace)
	}
	if !strings.Contains(us.Error, "KeyError") {
		t.Errorf("stage error %q does not name the exception", us.Error)
	}
	if eu := stage(t, w, "eu"); eu.Status != pipeline.StatusBlocked {
		t.Errorf("eu = %s, want blocked", eu.Status)
	}
	if n := len(h.versions("us", "weather")); n != 0 {
		t.Errorf("weather has %d versions after a failed gate, want 0", n)
	}
	// The other tool is not held back.
	if fl := tool(t, rep, "flights"); fl.Status != pipeline.StatusReleased {
		t.Errorf("flights = %s, want released (failure isolation)", fl.Status)
	}
}

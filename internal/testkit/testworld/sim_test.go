package testworld_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
)

// A Sim holds a publish for its build time (simulated, in the bubble)
// before the emulator sees it, not when the request is cancelled, and
// records test-tool calls with their project.
func TestSim_holdsPublishesAndRecordsTests(t *testing.T) {
	repo := testkit.NewRepo(t)
	head := repo.Commit("feat: weather", testkit.Project("weather", "weather", ""))
	synctest.Test(t, func(t *testing.T) {
		srv := amigotest.New(amigotest.Options{Clock: clock.Real{}, RepoPath: repo.Dir, PublishLatency: amigotest.Fixed(0), TestLatency: amigotest.Fixed(10 * time.Second)})
		defer srv.Close()
		s := &testworld.Sim{Servers: map[string]*amigotest.Server{"eu": srv}, Publish: func(tool, stage string) time.Duration {
			if tool == "weather" && stage == "eu" {
				return 3 * time.Minute
			}
			return 0
		}}
		id := testworld.Seed(t, srv, testworld.Org, "weather", "tools/weather", "1.0.0@"+head)
		c, err := amigo.New(amigo.Config{BaseURL: testworld.SimURL("eu"), Org: testworld.Org, APIKey: "ak-test", APIKeyID: "kid", UserID: "u", HTTPClient: s.HTTPClient()})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := c.PublishVersion(t.Context(), id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMinor}); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 3*time.Minute {
			t.Errorf("the publish took %v, want its 3m build", took)
		}
		if n := s.Count(amigotest.OpPublishVersion); n != 1 {
			t.Errorf("%d publishes logged, want 1", n)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if _, err := c.PublishVersion(ctx, id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMinor}); err == nil {
			t.Errorf("a publish cancelled during its build succeeded")
		}
		if n := s.Count(amigotest.OpPublishVersion); n != 1 {
			t.Errorf("%d publishes logged, want 1: the cancelled one never reached the emulator", n)
		}
		if _, err := c.TestTool(t.Context(), amigo.TestToolRequest{CommitBranch: "main", ProjectPath: "tools/weather",
			Inputs: []amigo.Input{{InputParameters: map[string]any{}, InvocationMode: amigo.InvocationModeRegular}}}); err != nil {
			t.Fatal(err)
		}
		if calls := s.Tests(); len(calls) != 1 || calls[0].Project != "tools/weather" || calls[0].Status != http.StatusOK {
			t.Errorf("test calls = %+v, want the one of tools/weather, 200", calls)
		}
	})
}

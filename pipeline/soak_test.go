package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// A run stopped during a soak leaves the version live; a rerun finds the
// stage up to date but waits for what is left of the soak (counted from the
// version's creation) before the next stage starts.
func TestRun_rerunFinishesAnInterruptedSoak(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.plan("", []stageSpec{{name: "us", extra: "test: true\nsoak: 1h"}, {name: "eu"}}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := h.runAsync(ctx, plan)
	h.waitFor("nothing was published", func() bool { return len(h.versions("us", "weather")) > 0 })
	cancel()
	if rep := <-done; stage(t, tool(t, rep, "weather"), "eu").Status != pipeline.StatusPending {
		t.Fatalf("eu after the cancel = %s, want pending", stage(t, tool(t, rep, "weather"), "eu").Status)
	}
	created := h.versions("us", "weather")[0].CreatedAt.Time

	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us, eu := stage(t, w, "us"), stage(t, w, "eu")
	if !rep.OK() || us.Status != pipeline.StatusUpToDate || eu.Status != pipeline.StatusReleased {
		t.Fatalf("rerun: us %s, eu %s; want up-to-date, released\n%s", us.Status, eu.Status, h.log)
	}
	if live := eu.StartedAt.Sub(created); live < time.Hour {
		t.Errorf("eu started when us's version had been live %v, want at least the 1h soak", live)
	}
	if !strings.Contains(h.log.String(), "weather us soak: waited") || !strings.Contains(h.log.String(), "the rest of the 1h00m soak") {
		t.Errorf("log lacks the rest of the soak:\n%s", h.log)
	}
}

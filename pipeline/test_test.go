package pipeline_test

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

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

package pipeline_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

func TestRun_firstRelease(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	head := h.commit("feat: weather tool", testkit.Project("weather", "weather", ""))
	rep := h.run(h.chain(""), nil)
	if !rep.OK() {
		t.Fatalf("report not OK: %+v\nlog:\n%s", rep, h.log)
	}
	tr := tool(t, rep, "weather")
	st := stage(t, tr, "us")
	if st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" || st.VersionBefore != "" {
		t.Errorf("us: status %s, %q → %q; want released, \"\" → 1.0.0 (%s)", st.Status, st.VersionBefore, st.VersionAfter, st.Error)
	}
	if st.CommitHash != head {
		t.Errorf("us commit = %s, want %s", st.CommitHash, head)
	}
	// A step that went through is done: only a stage is released.
	if len(st.Steps) == 0 {
		t.Errorf("us: no steps reported")
	}
	for _, sr := range st.Steps {
		if sr.Status != pipeline.StatusDone {
			t.Errorf("us step %s: status %s, want %s", sr.Name, sr.Status, pipeline.StatusDone)
		}
	}
	if len(st.Tests) != 1 || !st.Tests[0].Succeeded {
		t.Errorf("us tests = %+v, want one passing input", st.Tests)
	}
	if len(tr.Commits) != 1 || tr.Commits[0].Type != "feat" {
		t.Errorf("commits = %+v, want the one feat commit", tr.Commits)
	}
	vs := h.versions("us", "weather")
	if len(vs) != 1 || vs[0].Version.String() != "1.0.0" || vs[0].ToolCommitHash != head {
		t.Fatalf("emulator versions = %+v, want 1.0.0 at %s", vs, head)
	}
	tl, _ := h.servers["us"].ToolByName(org, "weather")
	if tl.Description != "The weather tool." {
		t.Errorf("tool description = %q, want the project's", tl.Description)
	}
	for _, want := range []string{"weather us ensure: created", "weather us test: 1 inputs passed", "weather us publish: published 1.0.0 (major)", "weather us verify"} {
		if !strings.Contains(h.log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, h.log)
		}
	}
	// One line per step, each with the elapsed time, the tool and the
	// stage, grouped under the tool's title.
	group := strings.SplitAfter(h.log.String(), "▸ weather: released us=1.0.0\n")
	if len(group) != 2 {
		t.Fatalf("no group titled with the tool's outcome:\n%s", h.log)
	}
	lineRE := regexp.MustCompile(`^  \[\+[0-9hms.]+\] weather us (\w+): .+`)
	var logged []string
	for _, ln := range strings.Split(strings.TrimRight(group[1], "\n"), "\n") {
		if !strings.HasPrefix(ln, "  ") {
			break
		}
		m := lineRE.FindStringSubmatch(ln)
		if m == nil {
			t.Errorf("step line %q lacks elapsed time, tool or stage", ln)
			continue
		}
		logged = append(logged, m[1])
	}
	var steps []string
	for _, sr := range st.Steps {
		steps = append(steps, sr.Name)
	}
	if !slices.Equal(logged, steps) || len(steps) < 5 {
		t.Errorf("logged steps %v, report steps %v: want one line per step (ensure, versions, test, publish, verify)", logged, steps)
	}
}

func TestRun_promotionAcrossFourStages(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu", "ap", "ca")
	head := h.commit("feat: two tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
	plan := h.plan("", []stageSpec{
		{name: "us", extra: "test: true\nsmoke: true\nsoak: 10m"},
		{name: "eu", extra: "smoke: true"},
		{name: "ap", extra: "needs: [eu]"},
		{name: "ca", extra: "needs: [eu]"},
	}, "")
	// ap's and ca's publishes take half an hour (300 real ms), so that
	// their overlap, checked below, does not depend on how fast the machine
	// starts two goroutines.
	for _, sn := range []string{"ap", "ca"} {
		h.servers[sn].SetLatency(amigotest.OpPublishVersion, 30*time.Minute)
	}
	rep := h.run(plan, nil)
	if !rep.OK() {
		t.Fatalf("not OK: %v\n%s", toolNames(rep), h.log)
	}
	for _, name := range []string{"weather", "flights"} {
		tr := tool(t, rep, name)
		for _, sn := range h.stages {
			st := stage(t, tr, sn)
			if st.Status != pipeline.StatusReleased || st.VersionAfter != "1.0.0" || st.CommitHash != head {
				t.Errorf("%s %s: %s %s at %s, want released 1.0.0 at %s (%s)", name, sn, st.Status, st.VersionAfter, st.CommitHash, head, st.Error)
			}
			if got := h.active(sn, name); !slices.Equal(got, []string{"1.0.0"}) {
				t.Errorf("%s in %s: active %v, want [1.0.0]", name, sn, got)
			}
		}
		us, eu, ap, ca := stage(t, tr, "us"), stage(t, tr, "eu"), stage(t, tr, "ap"), stage(t, tr, "ca")
		if len(us.Smoke) != 1 || !us.Smoke[0].Succeeded || len(eu.Smoke) != 1 {
			t.Errorf("%s smoke results us=%+v eu=%+v, want one passing input each", name, us.Smoke, eu.Smoke)
		}
		// eu starts after us is done, soak included; ap and ca after eu.
		if usEnd := us.StartedAt.Add(us.Duration); eu.StartedAt.Before(usEnd) || eu.StartedAt.Sub(us.StartedAt) < 10*time.Minute {
			t.Errorf("%s: eu started %v after us started (us took %v incl. a 10m soak): needs not honoured", name, eu.StartedAt.Sub(us.StartedAt), us.Duration)
		}
		euEnd := eu.StartedAt.Add(eu.Duration)
		if ap.StartedAt.Before(euEnd) || ca.StartedAt.Before(euEnd) {
			t.Errorf("%s: ap/ca started before eu was done", name)
		}
	}
	// ap and ca ran concurrently for at least one tool (they only need eu).
	w := tool(t, rep, "weather")
	ap, ca := stage(t, w, "ap"), stage(t, w, "ca")
	if !ap.StartedAt.Before(ca.StartedAt.Add(ca.Duration)) || !ca.StartedAt.Before(ap.StartedAt.Add(ap.Duration)) {
		t.Errorf("ap and ca ran one after the other")
	}
	// One test-tool call per tool, only in us.
	if n := h.count("us", amigotest.OpTestTool, 200); n != 2 {
		t.Errorf("us test-tool calls = %d, want 2", n)
	}
	for _, sn := range []string{"eu", "ap", "ca"} {
		if n := h.count(sn, amigotest.OpTestTool, 0); n != 0 {
			t.Errorf("%s test-tool calls = %d, want 0 (not test-gated)", sn, n)
		}
	}
}

// A server error that echoes a secret value must not carry it into the log,
// the stage's error, the tool's error or the JSON report.
func TestRun_secretEchoedInAnErrorIsMasked(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us")
	const secret = "sk-live-ECHOED-31337"
	h.env["WEATHER_KEY_PROD"] = secret
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	h.servers["us"].FailNext(amigotest.OpModifyEnvvars, 1, http.StatusBadRequest, `{"detail":"envvar WEATHER_API_KEY: value `+secret+` is not accepted"}`)
	plan := h.chain(weatherSecretKey)
	rep := h.run(plan, nil)
	w := tool(t, rep, "weather")
	us := stage(t, w, "us")
	if rep.OK() || us.Status != pipeline.StatusFailed || !strings.Contains(us.Error, "is not accepted") {
		t.Fatalf("us = %s (%q), want failed with the server's message", us.Status, us.Error)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"log": h.log.String(), "report": string(js), "stage error": us.Error, "tool error": w.Error} {
		if strings.Contains(text, secret) {
			t.Errorf("the secret leaked into the %s", what)
		}
	}
	if !strings.Contains(us.Error, "value *** is not accepted") {
		t.Errorf("stage error %q, want the secret replaced by ***", us.Error)
	}
}

func toolID(h *harness, stage, name string) string {
	tl, _ := h.servers[stage].ToolByName(org, name)
	return tl.ID
}

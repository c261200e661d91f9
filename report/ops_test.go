package report

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/golden"
	"github.com/amigo-release/amigo-release/ops"
	"github.com/amigo-release/amigo-release/pipeline"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// sampleStatus: a drifted, capped, pinned tool and a hostile one.
func sampleStatus() *ops.StatusReport {
	return &ops.StatusReport{
		Head:   "4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d",
		Stages: []ops.StatusStage{{Name: "us", ActiveCap: 3}, {Name: "eu", ActiveCap: 2}, {Name: "ap", ActiveCap: 3}, {Name: "ca", ActiveCap: 3}},
		Tools: []ops.ToolStatus{
			{Name: "weather", Path: "tools/weather", Stages: []ops.StageStatus{
				{Stage: "us", State: ops.StateServing, Version: "1.2.0", Commit: "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c", InHead: yes(), Behind: 2, ToolBehind: 1, Active: []string{"1.2.0", "1.1.0", "1.0.0"}, ActiveCap: 3},
				{Stage: "eu", State: ops.StateServing, Version: "1.1.0", Commit: "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c", InHead: yes(), Behind: 2, ToolBehind: 1, Active: []string{"1.1.0", "1.0.0"}, ActiveCap: 2},
				{Stage: "ap", State: ops.StateServing, Version: "1.0.0", Commit: "1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a", InHead: yes(), Behind: 4, ToolBehind: 3, Active: []string{"1.0.0"}, ActiveCap: 3,
					Pinned: []ops.Pin{{Version: "1.0.0", Active: true}, {Version: "0.9.0"}}},
				{Stage: "ca", State: ops.StateNoTool, Active: []string{}, ActiveCap: 3},
			}, Drift: []string{"commit 3c3c3c3c3c3c is 1.2.0 in us, 1.1.0 in eu (each server numbers its own versions)",
				"ap is behind us: it serves 1.0.0 (1a1a1a1a1a1a), us serves 1.2.0 (3c3c3c3c3c3c)"}},
			{Name: "evil", Stages: []ops.StageStatus{
				{Stage: "us", State: ops.StateServing, Version: "1.0.0", Commit: "::set-output name=x::y <b>@admins</b> ##vso[task.complete]", Active: []string{"1.0.0"}, ActiveCap: 3, InHead: no()},
				{Stage: "eu", State: ops.StateNoVersion, Active: []string{}, ActiveCap: 2},
				{Stage: "ap", State: ops.StateSkipped, Active: []string{}, ActiveCap: 3},
				{Stage: "ca", State: ops.StateServing, Version: "1.0.0", Commit: "ffffffffffffffffffffffffffffffffffffffff", Active: []string{"1.0.0"}, ActiveCap: 3},
			}},
		},
		Warnings: []string{"ghost is not a tool project at 4d4d4d4d4d4d: showing what the servers have"},
	}
}

func sampleRollback(dry bool) *ops.RollbackReport {
	r := &ops.RollbackReport{Tool: "weather", Target: "1.1.0", Commit: "2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b", Version: "1.1.0", DryRun: dry, OK: true,
		Stages: []ops.RollbackStage{
			{Stage: "ca", Before: "1.0.2", Target: "1.0.1", Deprecate: []string{"1.0.2"}, Deprecated: []string{"1.0.2"}, After: "1.0.1", SmokeOK: yes(),
				Smoke: []pipeline.TestResult{{Input: 1, Succeeded: true}}},
			{Stage: "ap", Before: "1.0.0", After: "1.0.0", Note: "serves nothing newer than the target commit"},
			{Stage: "eu", Before: "1.2.0", Target: "1.1.0", Deprecate: []string{"1.2.0"}, Deprecated: []string{"1.2.0"}, After: "1.1.0", SmokeOK: no(),
				Smoke: []pipeline.TestResult{{Input: 1, ExceptionType: "ValueError", Message: "no <city> @octocat"}}},
			{Stage: "us", Before: "1.2.0", Target: "1.1.0", Deprecate: []string{"1.2.0"}, Deprecated: []string{"1.2.0"}, After: "1.1.0"},
		}}
	if dry {
		for i := range r.Stages {
			r.Stages[i].Deprecated, r.Stages[i].SmokeOK, r.Stages[i].Smoke, r.Stages[i].After = nil, nil, nil, r.Stages[i].Before
		}
	} else {
		r.OK, r.Error = false, "stage eu: the smoke test of 1.1.0 failed"
	}
	return r
}

func TestStatusRendering(t *testing.T) {
	text := StatusText(sampleStatus())
	golden.AssertExt(t, []byte(text), ".txt")
	checkSafeText(t, text)
	wantContains(t, text, "weather  us     1.2.0", "2 behind (1 for the tool)", "3/3: 1.2.0 1.1.0 1.0.0", "1.0.0 0.9.0 (not active)", "no tool",
		"drift: weather: commit 3c3c3c3c3c3c is 1.2.0 in us, 1.1.0 in eu", "not in head's history", "not in local history", "skipped")
	md := StatusMarkdown(sampleStatus())
	checkSafeText(t, md)
	checkInertMarkdown(t, strings.ReplaceAll(md, "#### ", ""))
	wantContains(t, md, "| us | 1.2.0 | `3c3c3c3` |", "⚠️ Drift: commit 3c3c3c3c3c3c is 1.2.0 in us")
}

func TestRollbackRendering(t *testing.T) {
	for _, dry := range []bool{false, true} {
		name := map[bool]string{false: "done", true: "dry"}[dry]
		t.Run(name, func(t *testing.T) {
			text := RollbackText(sampleRollback(dry))
			golden.AssertExt(t, []byte(text), ".txt")
			checkSafeText(t, text)
			md := RollbackMarkdown(sampleRollback(dry))
			checkSafeText(t, md)
			checkInertMarkdown(t, md)
			if dry {
				wantContains(t, text, "dry run: nothing changed", "WOULD DEPRECATE", "ca     1.0.2   1.0.2 ")
			} else {
				wantContains(t, text, "did not complete", "smoke eu input 1: ValueError", "error: stage eu: the smoke test of 1.1.0 failed")
				wantContains(t, md, "❌", "no &lt;city&gt; @\u200doctocat")
			}
		})
	}
}

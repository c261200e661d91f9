package report_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

func ExampleMarkdown() {
	r := &pipeline.Report{
		Mode:   "plan",
		Head:   "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
		Stages: []pipeline.StageInfo{{Name: "us"}, {Name: "eu-central-1"}},
		Tools: []pipeline.ToolReport{{
			Name: "weather_lookup", Bump: "minor", Reason: "feat: wind <b>speed</b> for @org/team", Status: pipeline.StatusPlanned,
			Stages: []pipeline.StageReport{
				{Stage: "us", Status: pipeline.StatusPlanned, VersionBefore: "1.2.4", VersionAfter: "1.3.0"},
				{Stage: "eu-central-1", Status: pipeline.StatusPlanned, VersionBefore: "1.2.4", VersionAfter: "1.3.0"},
			},
		}},
	}
	body := report.Markdown(r, report.Options{RunURL: "https://github.com/acme/tools/actions/runs/1", Marker: "main"})
	// The zero-width joiner that breaks the mention is invisible; show it.
	fmt.Print(strings.ReplaceAll(body, "\u200d", "<ZWJ>"))
	// Output:
	// <!-- amigo-release:main -->
	//
	// ### 📋 Release preview: 1 tool to release
	//
	// Merging releases `weather_lookup` 1.3.0 (minor) to us → eu-central-1.
	//
	// | Tool | Bump | Reason | us | eu-central-1 | Duration |
	// |---|---|---|---|---|---|
	// | `weather_lookup` | minor | feat: wind &lt;b&gt;speed&lt;/b&gt; for @<ZWJ>org/team | 📋 planned 1.2.4 → 1.3.0 | 📋 planned 1.2.4 → 1.3.0 | — |
	//
	// <sub>[View run](https://github.com/acme/tools/actions/runs/1) · head `9f2c1e7` · amigo-release `plan`</sub>
}

func ExamplePlanText() {
	r := &pipeline.Report{
		Mode:   "plan",
		Branch: "main",
		Stages: []pipeline.StageInfo{{Name: "us"}, {Name: "eu-central-1"}},
		Tools: []pipeline.ToolReport{
			{Name: "weather_lookup", Bump: "minor", Status: pipeline.StatusPlanned, Stages: []pipeline.StageReport{
				{Stage: "us", Status: pipeline.StatusPlanned, VersionAfter: "1.3.0", Duration: time.Second},
				{Stage: "eu-central-1", Status: pipeline.StatusPlanned, VersionAfter: "1.3.0"},
			}},
			{Name: "docs_only", Status: pipeline.StatusNoRelease},
		},
	}
	fmt.Print(report.PlanText(r))
	// Output:
	// amigo-release plan · branch main · 2 stages
	// Merging releases weather_lookup 1.3.0 (minor) to us → eu-central-1.
	// Not releasing: docs_only (no-release)
}

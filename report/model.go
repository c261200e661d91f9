package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/pipeline"
)

// statusEmoji is the emoji shown next to a status word in markdown.
func statusEmoji(s pipeline.Status) string {
	switch s {
	case pipeline.StatusReleased:
		return "✅"
	case pipeline.StatusPlanned:
		return "📋"
	case pipeline.StatusFailed:
		return "❌"
	case pipeline.StatusBlocked:
		return "⛔"
	case pipeline.StatusSkipped:
		return "⏭️"
	case pipeline.StatusNoRelease:
		return "➖"
	case pipeline.StatusRemoved:
		return "🗑️"
	case pipeline.StatusUpToDate:
		return "✔️"
	case pipeline.StatusPending:
		return "⏳"
	case pipeline.StatusUnknown:
		return "❓"
	}
	return "❔"
}

// isPreview reports whether the report is rendered as a plan.
func isPreview(r *pipeline.Report, forced bool) bool {
	return forced || r.Mode == "plan"
}

// stageOf returns the tool's report for the named stage, or nil.
func stageOf(t *pipeline.ToolReport, name string) *pipeline.StageReport {
	for i := range t.Stages {
		if t.Stages[i].Stage == name {
			return &t.Stages[i]
		}
	}
	return nil
}

// stageNames lists the report's stages in DAG order, followed by any stage a
// tool reports that the plan did not list.
func stageNames(r *pipeline.Report) []string {
	var names []string
	seen := map[string]bool{}
	for _, s := range r.Stages {
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	for _, t := range r.Tools {
		for _, s := range t.Stages {
			if !seen[s.Stage] {
				seen[s.Stage] = true
				names = append(names, s.Stage)
			}
		}
	}
	return names
}

// versionText is what a stage cell says about versions.
func versionText(s *pipeline.StageReport) string {
	switch s.Status {
	case pipeline.StatusPlanned:
		if s.VersionBefore != "" && s.VersionAfter != "" {
			return s.VersionBefore + " → " + s.VersionAfter
		}
		return s.VersionAfter
	case pipeline.StatusReleased, pipeline.StatusUpToDate:
		if s.VersionAfter != "" {
			return s.VersionAfter
		}
		return s.VersionBefore
	}
	return ""
}

// failedStep returns the first failed step of a stage, or "".
func failedStep(s *pipeline.StageReport) (name string, attempts int) {
	for _, st := range s.Steps {
		if st.Status == pipeline.StatusFailed {
			return st.Name, st.Attempts
		}
	}
	return "", 0
}

// stageWords is the plain status of a stage: "released 1.3.0",
// "failed at test", "planned 1.2.0 → 1.3.0".
func stageWords(s *pipeline.StageReport) string {
	out := string(s.Status)
	if s.Status == pipeline.StatusFailed {
		if step, _ := failedStep(s); step != "" {
			out += " at " + step
		}
	}
	if v := versionText(s); v != "" {
		out += " " + v
	}
	if s.Attempts > 1 {
		out += fmt.Sprintf(" (%d attempts)", s.Attempts)
	}
	return out
}

// toolDuration is the wall time of the tool's stages: from the first
// start to the last end when every timed stage has a start time (stages
// may overlap), else the sum of their durations.
func toolDuration(t *pipeline.ToolReport) time.Duration {
	var sum time.Duration
	var first, last time.Time
	spans := true
	for _, s := range t.Stages {
		if s.Duration <= 0 {
			continue
		}
		sum += s.Duration
		if s.StartedAt.IsZero() {
			spans = false
			continue
		}
		if first.IsZero() || s.StartedAt.Before(first) {
			first = s.StartedAt
		}
		if end := s.StartedAt.Add(s.Duration); end.After(last) {
			last = end
		}
	}
	if spans && !first.IsZero() {
		return last.Sub(first)
	}
	return sum
}

// formatDuration renders d for people: "850ms", "42s", "4m12s", "1h03m".
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// plannedStages lists the names of the tool's planned stages in plan order.
func plannedStages(r *pipeline.Report, t *pipeline.ToolReport) []*pipeline.StageReport {
	var out []*pipeline.StageReport
	for _, name := range stageNames(r) {
		if s := stageOf(t, name); s != nil && s.Status == pipeline.StatusPlanned {
			out = append(out, s)
		}
	}
	return out
}

// planSentence is a tool's preview sentence, "Merging releases <name>
// 1.3.0 (minor) to us → eu-central-1.": name comes rendered, esc escapes
// the rest for the output at hand (md or plain), stage names up to
// stageMax runes.
func planSentence(name string, t *pipeline.ToolReport, stages []*pipeline.StageReport, esc func(string, int) string, stageMax int) string {
	s := "Merging releases " + name
	if v := plannedVersions(stages, func(v string) string { return esc(v, 40) }); v != "" {
		s += " " + v
	}
	bump := t.Bump
	if bump == "" {
		bump = "no bump"
	}
	names := make([]string, len(stages))
	for j, st := range stages {
		names[j] = esc(st.Stage, stageMax)
	}
	return s + " (" + esc(bump, 20) + ") to " + strings.Join(names, " → ") + "."
}

// plannedVersions describes the versions a tool would get: "1.3.0" when
// every stage agrees, else "1.3.0 in us, 1.2.5 in eu-central-1".
func plannedVersions(stages []*pipeline.StageReport, esc func(string) string) string {
	var distinct []string
	seen := map[string]bool{}
	for _, s := range stages {
		if s.VersionAfter != "" && !seen[s.VersionAfter] {
			seen[s.VersionAfter] = true
			distinct = append(distinct, s.VersionAfter)
		}
	}
	switch len(distinct) {
	case 0:
		return ""
	case 1:
		return esc(distinct[0])
	}
	parts := make([]string, 0, len(stages))
	for _, s := range stages {
		if s.VersionAfter != "" {
			parts = append(parts, esc(s.VersionAfter)+" in "+esc(s.Stage))
		}
	}
	return strings.Join(parts, ", ")
}

// hasFailure reports whether a tool has anything the failure details show.
func hasFailure(t *pipeline.ToolReport) bool {
	if t.Status == pipeline.StatusFailed || t.Error != "" {
		return true
	}
	for _, s := range t.Stages {
		if s.Status == pipeline.StatusFailed || s.Error != "" || len(failedTests(s.Tests)) > 0 || len(failedTests(s.Smoke)) > 0 {
			return true
		}
	}
	return false
}

// failedTests returns the failed results.
func failedTests(ts []pipeline.TestResult) []pipeline.TestResult {
	var out []pipeline.TestResult
	for _, t := range ts {
		if !t.Succeeded {
			out = append(out, t)
		}
	}
	return out
}

// counts tallies tools by outcome; failed counts every tool that did not
// release (failed, blocked, unfinished) and unfinished those of them left
// pending by an interrupted run.
type counts struct{ tools, released, upToDate, failed, unfinished, planned int }

// notReleased says how many tools did not release and why, e.g. "1 of 2
// tools failed" or "1 of 1 tool unfinished (interrupted)".
func (c counts) notReleased() string {
	switch c.unfinished {
	case 0:
		return fmt.Sprintf("%d of %s failed", c.failed, words.Plural(c.tools, "tool", "tools"))
	case c.failed:
		return fmt.Sprintf("%d of %s unfinished (interrupted: a rerun finishes it)", c.failed, words.Plural(c.tools, "tool", "tools"))
	}
	return fmt.Sprintf("%d of %s failed or unfinished (%d interrupted)", c.failed, words.Plural(c.tools, "tool", "tools"), c.unfinished)
}

func countTools(r *pipeline.Report) counts {
	c := counts{tools: len(r.Tools)}
	for _, t := range r.Tools {
		switch t.Status {
		case pipeline.StatusReleased:
			c.released++
		case pipeline.StatusUpToDate:
			c.upToDate++
		case pipeline.StatusFailed, pipeline.StatusBlocked:
			c.failed++
		case pipeline.StatusPending, pipeline.StatusUnknown:
			c.failed++
			c.unfinished++
		case pipeline.StatusPlanned:
			c.planned++
		}
	}
	return c
}

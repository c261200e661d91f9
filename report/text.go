package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Text renders r as the terminal table of the CLI: one row per tool with its
// bump, reason, status per stage and duration, then failures, drift,
// warnings and a result line. Untrusted text is folded onto one line and no
// output line can run as a workflow command, so the CLI may print it as is.
func Text(r *pipeline.Report) string {
	var b strings.Builder
	b.WriteString(titleLine(r) + "\n")
	if r.Error != "" {
		b.WriteString("error: " + plain(r.Error, 500) + "\n")
	}
	if len(r.Tools) > 0 {
		names := stageNames(r)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		header := []string{"TOOL", "BUMP", "REASON"}
		for _, n := range names {
			header = append(header, strings.ToUpper(plain(n, 30)))
		}
		header = append(header, "DURATION")
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for i := range r.Tools {
			t := &r.Tools[i]
			row := []string{plain(t.Name, 40), orDash(plain(t.Bump, 10)), orDash(plain(t.Reason, 50))}
			for _, n := range names {
				if s := stageOf(t, n); s != nil {
					row = append(row, plain(stageWords(s), 40))
				} else if len(t.Stages) == 0 {
					row = append(row, plain(string(t.Status), 20))
				} else {
					row = append(row, "—")
				}
			}
			row = append(row, formatDuration(toolDuration(t)))
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}
	for i := range r.Tools {
		t := &r.Tools[i]
		if hasFailure(t) {
			b.WriteString(failureText(r, t))
		}
	}
	for _, t := range r.Tools {
		if t.Drift != "" {
			b.WriteString("drift: " + plain(t.Name, 40) + ": " + plain(t.Drift, 300) + "\n")
		}
	}
	for _, w := range plainWarnings(r) {
		b.WriteString("warning: " + w + "\n")
	}
	b.WriteString(resultLine(r) + "\n")
	return defuseText(b.String())
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func titleLine(r *pipeline.Report) string {
	parts := []string{"amigo-release " + modeWord(r)}
	if r.Head != "" {
		parts = append(parts, "head "+plain(changes.DisplaySHA(r.Head), 40))
	}
	if r.Branch != "" {
		parts = append(parts, "branch "+plain(r.Branch, 100))
	}
	parts = append(parts, words.Plural(len(r.Stages), "stage", "stages"))
	return strings.Join(parts, " · ")
}

func resultLine(r *pipeline.Report) string {
	c := countTools(r)
	switch {
	case r.Error != "":
		return "result: could not complete"
	case r.Mode == "plan":
		return fmt.Sprintf("result: %d of %s to release", c.planned, words.Plural(c.tools, "tool", "tools"))
	case c.failed > 0:
		return "result: " + c.notReleased()
	}
	line := fmt.Sprintf("result: %d of %s released", c.released, words.Plural(c.tools, "tool", "tools"))
	if c.upToDate > 0 {
		line += fmt.Sprintf(", %d already up to date", c.upToDate)
	}
	return line
}

// failureText lists a failed tool's errors and failed test inputs, indented.
func failureText(r *pipeline.Report, t *pipeline.ToolReport) string {
	var b strings.Builder
	b.WriteString("failed: " + plain(t.Name, 40))
	if t.Error != "" {
		b.WriteString(": " + plain(t.Error, 300))
	}
	b.WriteString("\n")
	for _, name := range stageNames(r) {
		s := stageOf(t, name)
		if s == nil {
			continue
		}
		tests := append(failedTests(s.Tests), failedTests(s.Smoke)...)
		if s.Status != pipeline.StatusFailed && s.Error == "" && len(tests) == 0 {
			continue
		}
		line := "  " + plain(name, 40) + ": " + string(s.Status)
		if step, attempts := failedStep(s); step != "" {
			line += " at " + plain(step, 20)
			if attempts > 1 {
				line += fmt.Sprintf(" after %d attempts", attempts)
			}
		}
		if s.Error != "" {
			line += ": " + plain(s.Error, 300)
		}
		b.WriteString(line + "\n")
		for i, tr := range tests {
			if i == 5 {
				b.WriteString(fmt.Sprintf("    …and %d more failed inputs\n", len(tests)-i))
				break
			}
			line := fmt.Sprintf("    input %d: ", tr.Input)
			if tr.ExceptionType != "" {
				line += plain(tr.ExceptionType, 60) + ": "
			}
			b.WriteString(line + plain(tr.Message, 200) + "\n")
		}
	}
	return b.String()
}

// plainWarnings is allWarnings as plain text.
func plainWarnings(r *pipeline.Report) []string {
	name := func(s string) string { return plain(s, 40) }
	return warningLines(r, name, name, func(s string) string { return plain(s, 300) })
}

// PlanText renders a plan for the terminal: per tool the sentence
// "Merging releases weather_lookup 1.3.0 (minor) to us → eu-central-1 → …",
// its reason and commits, then the tools that will not release. Like Text,
// its lines are safe to print in a CI log.
func PlanText(r *pipeline.Report) string {
	var b strings.Builder
	b.WriteString(titleLine(r) + "\n")
	if r.Error != "" {
		b.WriteString("error: " + plain(r.Error, 500) + "\n")
	}
	var idle []string
	planned := 0
	for i := range r.Tools {
		t := &r.Tools[i]
		stages := plannedStages(r, t)
		if len(stages) == 0 {
			idle = append(idle, plain(t.Name, 40)+" ("+plain(string(t.Status), 20)+reasonSuffix(t)+")")
			continue
		}
		planned++
		b.WriteString(planSentence(plain(t.Name, 40), t, stages, plain, 40) + "\n")
		if t.Reason != "" {
			b.WriteString("  reason: " + plain(t.Reason, 200) + "\n")
		}
		for j, c := range t.Commits {
			if j == 20 {
				b.WriteString(fmt.Sprintf("  …and %d more commits\n", len(t.Commits)-j))
				break
			}
			line := "  " + plain(changes.DisplaySHA(c.SHA), 12) + " " + plain(c.Subject, 120)
			if c.Bump != "" {
				line += " (" + plain(c.Bump, 10) + ")"
			}
			b.WriteString(line + "\n")
		}
	}
	if planned == 0 && (r.Error == "" || len(r.Tools) > 0) {
		b.WriteString("Merging releases nothing: no changed tool has a releasable commit.\n")
	}
	if len(idle) > 0 {
		b.WriteString("Not releasing: " + strings.Join(idle, ", ") + "\n")
	}
	for _, t := range r.Tools {
		if t.Drift != "" {
			b.WriteString("drift: " + plain(t.Name, 40) + ": " + plain(t.Drift, 300) + "\n")
		}
	}
	for _, w := range plainWarnings(r) {
		b.WriteString("warning: " + w + "\n")
	}
	return defuseText(b.String())
}

func reasonSuffix(t *pipeline.ToolReport) string {
	if t.Reason == "" {
		return ""
	}
	return ": " + plain(t.Reason, 80)
}

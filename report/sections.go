package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/pipeline"
)

// pieces lists the body's sections in order of importance.
func pieces(r *pipeline.Report, preview bool, links Links) []piece {
	ps := []piece{fixed(headline(r, preview))}
	if preview && (r.Error == "" || len(r.Tools) > 0) {
		ps = append(ps, fixed(sentences(r)))
	}
	ps = append(ps, table(r)...)
	if s := drift(r); s != "" {
		ps = append(ps, fixed(s))
	}
	for i := range r.Tools {
		if hasFailure(&r.Tools[i]) {
			t := &r.Tools[i]
			ps = append(ps, piece{render: func(pct int) string { return failureDetails(r, t, scaled(pct)) }})
		}
	}
	if ws := allWarnings(r); len(ws) > 0 {
		ps = append(ps, piece{render: func(pct int) string { return warnings(ws, scaled(pct)) }})
	}
	for i := range r.Tools {
		if len(r.Tools[i].Commits) > 0 {
			t := &r.Tools[i]
			ps = append(ps, piece{render: func(pct int) string { return toolNotes(t, links, scaled(pct)) }})
		}
	}
	return ps
}

// limits bound how much untrusted text one section shows.
type limits struct {
	text  int // runes of a one-line message
	block int // runes of a <pre> block
	lines int // stack trace frames
	items int // list items (tests, warnings, commits)
}

func scaled(pct int) limits {
	return limits{
		text:  100 + 400*pct/100,
		block: 200 + 2800*pct/100,
		lines: 4 + 21*pct/100,
		items: 1 + 49*pct/100,
	}
}

func headline(r *pipeline.Report, preview bool) string {
	c := countTools(r)
	var title string
	switch {
	case r.Error != "":
		title = "❌ amigo-release could not complete the " + modeWord(r)
	case preview:
		title = "📋 Release preview: " + words.Plural(c.planned, "tool", "tools") + " to release"
	case c.failed > 0:
		title = "❌ Release: " + c.notReleased()
	case c.tools == 0:
		title = "✅ Release: nothing to release"
	default:
		title = "✅ Release: " + words.Plural(c.released, "tool", "tools") + " released"
		if c.upToDate > 0 {
			title += fmt.Sprintf(", %d already up to date", c.upToDate)
		}
	}
	if r.DryRun {
		title += " (dry run)"
	}
	var b strings.Builder
	b.WriteString("### " + title + "\n")
	if r.Error != "" {
		b.WriteString("\n**Error:** " + md(r.Error, 500) + "\n")
	}
	return b.String()
}

// sentences is the plan preview: "Merging releases `weather_lookup` 1.3.0
// (minor) to us → eu-central-1 → ap-southeast-2." per tool.
func sentences(r *pipeline.Report) string {
	var lines, idle []string
	for i := range r.Tools {
		t := &r.Tools[i]
		stages := plannedStages(r, t)
		if len(stages) == 0 {
			idle = append(idle, code(t.Name)+" ("+md(string(t.Status), 40)+")")
			continue
		}
		lines = append(lines, planSentence(code(t.Name), t, stages, md, 60))
	}
	var b strings.Builder
	b.WriteString("\n")
	switch len(lines) {
	case 0:
		b.WriteString("Merging releases nothing: no changed tool has a releasable commit.\n")
	case 1:
		b.WriteString(lines[0] + "\n")
	default:
		for _, l := range lines {
			b.WriteString("- " + l + "\n")
		}
	}
	if len(idle) > 0 {
		b.WriteString("\nNot released: " + strings.Join(idle, ", ") + ".\n")
	}
	return b.String()
}

// table is the header and one piece per tool row.
func table(r *pipeline.Report) []piece {
	if len(r.Tools) == 0 {
		return nil
	}
	names := stageNames(r)
	var h strings.Builder
	h.WriteString("\n| Tool | Bump | Reason |")
	for _, n := range names {
		h.WriteString(" " + md(n, 60) + " |")
	}
	h.WriteString(" Duration |\n|---|---|---|")
	h.WriteString(strings.Repeat("---|", len(names)))
	h.WriteString("---|\n")
	ps := []piece{fixed(h.String())}
	for i := range r.Tools {
		t := &r.Tools[i]
		var row strings.Builder
		bump := t.Bump
		if bump == "" {
			bump = "—"
		}
		row.WriteString("| " + code(t.Name) + " | " + md(bump, 20) + " | " + md(t.Reason, 120) + " |")
		for _, n := range names {
			s := stageOf(t, n)
			if s == nil && len(t.Stages) == 0 {
				// A tool that never reached a stage (no-release, removed).
				row.WriteString(" " + statusEmoji(t.Status) + " " + md(string(t.Status), 20) + " |")
				continue
			}
			if s == nil {
				row.WriteString(" — |")
				continue
			}
			row.WriteString(" " + statusEmoji(s.Status) + " " + md(stageWords(s), 80) + " |")
		}
		row.WriteString(" " + formatDuration(toolDuration(t)) + " |\n")
		ps = append(ps, fixed(row.String()))
	}
	return ps
}

func drift(r *pipeline.Report) string {
	var b strings.Builder
	for _, t := range r.Tools {
		if t.Drift != "" {
			b.WriteString("- " + code(t.Name) + ": " + md(t.Drift, 500) + "\n")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\n**⚠️ Version drift**: stages serve different version numbers for the same commit.\n\n" + b.String()
}

// failureDetails is the collapsible block of one failed tool.
func failureDetails(r *pipeline.Report, t *pipeline.ToolReport, l limits) string {
	var where []string
	for _, name := range stageNames(r) {
		if s := stageOf(t, name); s != nil && s.Status == pipeline.StatusFailed {
			where = append(where, html(name, 60))
		}
	}
	summary := "❌ " + htmlCode(t.Name) + " failed"
	if len(where) > 0 {
		summary += " in " + strings.Join(where, ", ")
	}
	var b strings.Builder
	b.WriteString("\n<details><summary>" + summary + "</summary>\n\n")
	if t.Error != "" {
		b.WriteString(pre(visibleClip(t.Error, l.block)) + "\n\n")
	}
	items := 0
	for _, name := range stageNames(r) {
		s := stageOf(t, name)
		if s == nil {
			continue
		}
		tests, smoke := failedTests(s.Tests), failedTests(s.Smoke)
		if s.Status != pipeline.StatusFailed && s.Error == "" && len(tests) == 0 && len(smoke) == 0 {
			continue
		}
		line := "**" + md(name, 60) + "**: " + md(string(s.Status), 20)
		if step, attempts := failedStep(s); step != "" {
			line += " at step " + code(step)
			if attempts > 1 {
				line += fmt.Sprintf(" after %d attempts", attempts)
			}
		}
		b.WriteString(line + "\n\n")
		if s.Error != "" {
			b.WriteString(pre(visibleClip(s.Error, l.block)) + "\n\n")
		}
		for _, group := range []struct {
			label string
			rs    []pipeline.TestResult
		}{{"Test", tests}, {"Smoke test", smoke}} {
			for _, tr := range group.rs {
				if items >= l.items {
					break
				}
				items++
				b.WriteString(testResult(group.label, tr, l))
			}
		}
	}
	if total := countFailedTests(t); total > items {
		b.WriteString(fmt.Sprintf("…and %s not shown.\n\n", words.Plural(total-items, "more failed input", "more failed inputs")))
	}
	b.WriteString("</details>\n")
	return b.String()
}

func countFailedTests(t *pipeline.ToolReport) int {
	n := 0
	for _, s := range t.Stages {
		n += len(failedTests(s.Tests)) + len(failedTests(s.Smoke))
	}
	return n
}

func testResult(label string, tr pipeline.TestResult, l limits) string {
	var b strings.Builder
	line := fmt.Sprintf("%s input %d", label, tr.Input)
	if tr.ExceptionType != "" {
		line += " raised " + code(tr.ExceptionType)
	} else {
		line += " failed"
	}
	if tr.Message != "" {
		line += ": " + md(tr.Message, l.text)
	}
	b.WriteString(line + "\n\n")
	if len(tr.StackTrace) > 0 {
		b.WriteString("Stack trace:\n" + pre(trimTrace(tr.StackTrace, l)) + "\n\n")
	}
	if tr.Output != "" {
		b.WriteString("Output:\n" + pre(trimOutput(tr.Output, l.block)) + "\n\n")
	}
	return b.String()
}

// trimTrace keeps the first two and the innermost frames of a stack trace.
func trimTrace(frames []string, l limits) string {
	keep := frames
	omitted := 0
	if len(frames) > l.lines {
		tail := l.lines - 2
		omitted = len(frames) - l.lines
		keep = append(append([]string{}, frames[:2]...), frames[len(frames)-tail:]...)
	}
	out := make([]string, 0, len(keep)+1)
	for i, f := range keep {
		if omitted > 0 && i == 2 {
			out = append(out, fmt.Sprintf("… %s omitted …", words.Plural(omitted, "frame", "frames")))
		}
		out = append(out, visibleClip(strings.TrimRight(f, "\n"), 300))
	}
	return strings.Join(out, "\n")
}

// trimOutput keeps the head and the (usually more telling) tail of output.
func trimOutput(s string, max int) string {
	n := utf8.RuneCountInString(s)
	if n <= max {
		return sanitize(s)
	}
	head, tail := max/3, max-max/3
	i := 0
	for pos := range s {
		if i == head {
			head = pos
			break
		}
		i++
	}
	j := len(s)
	for k := 0; k < tail; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
	}
	return sanitize(s[:head]) + fmt.Sprintf("\n… %d characters omitted …\n", n-max) + sanitize(s[j:])
}

// allWarnings gathers run, tool and stage warnings as markdown, prefixed
// with where.
func allWarnings(r *pipeline.Report) []string {
	return warningLines(r, code, func(s string) string { return md(s, 60) }, func(s string) string { return md(s, 300) })
}

// warningLines gathers run, tool and stage warnings, each prefixed with
// where it was raised; tool, stage and text render each part.
func warningLines(r *pipeline.Report, tool, stage, text func(string) string) []string {
	var ws []string
	for _, w := range r.Warnings {
		ws = append(ws, text(w))
	}
	for _, t := range r.Tools {
		for _, w := range t.Warnings {
			ws = append(ws, tool(t.Name)+": "+text(w))
		}
		for _, s := range t.Stages {
			for _, w := range s.Warnings {
				ws = append(ws, tool(t.Name)+" in "+stage(s.Stage)+": "+text(w))
			}
		}
	}
	return ws
}

func warnings(ws []string, l limits) string {
	var b strings.Builder
	b.WriteString("\n**⚠️ Warnings**\n\n")
	for i, w := range ws {
		if i >= l.items {
			b.WriteString(fmt.Sprintf("- …and %s\n", words.Plural(len(ws)-i, "more warning", "more warnings")))
			break
		}
		b.WriteString("- " + w + "\n")
	}
	return b.String()
}

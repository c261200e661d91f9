package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/ops"
)

// headWords says how a serving commit relates to head: "head", "2 behind
// (1 for the tool)", "not in head", "not in local history".
func headWords(s ops.StageStatus) string {
	switch {
	case s.State != ops.StateServing:
		return "—"
	case s.InHead == nil:
		return "not in local history"
	case !*s.InHead:
		return "not in head's history"
	case s.Behind == 0:
		return "head"
	}
	return fmt.Sprintf("%d behind (%d for the tool)", s.Behind, s.ToolBehind)
}

// activeWords is "2/3: 1.2.0 1.1.0".
func activeWords(s ops.StageStatus) string {
	if s.State == ops.StateNoTool || s.State == ops.StateSkipped {
		return "—"
	}
	w := fmt.Sprintf("%d/%d", len(s.Active), s.ActiveCap)
	if len(s.Active) > 0 {
		w += ": " + strings.Join(s.Active, " ")
	}
	if over := len(s.Active) - s.ActiveCap; over > 0 {
		pinned := 0
		for _, p := range s.Pinned {
			if p.Active {
				pinned++
			}
		}
		if pinned >= over {
			w += " (pinned versions kept over the cap)"
		} else {
			w += " (over the cap)"
		}
	}
	return w
}

// pinWords is "1.0.0" or "1.0.0 (deprecated)" per pin.
func pinWords(s ops.StageStatus) string {
	var out []string
	for _, p := range s.Pinned {
		w := p.Version
		if !p.Active {
			w += " (not active)"
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return "—"
	}
	return strings.Join(out, " ")
}

func servingWords(s ops.StageStatus) string {
	switch s.State {
	case ops.StateServing:
		return s.Version
	case ops.StateNoTool:
		return "no tool"
	case ops.StateNoVersion:
		return "no active version"
	case ops.StateSkipped:
		return "skipped"
	}
	return s.State
}

// StatusText renders a status as the terminal table: one row per tool and
// stage (serving version, its commit, how it relates to head, the active
// versions against the cap, the pins), then the drift lines.
func StatusText(st *ops.StatusReport) string {
	var b strings.Builder
	var names []string
	for _, s := range st.Stages {
		names = append(names, plain(s.Name, 40))
	}
	fmt.Fprintf(&b, "amigo-release status  head %s  %s: %s\n\n", plain(changes.DisplaySHA(st.Head), 40), words.Plural(len(st.Stages), "stage", "stages"), strings.Join(names, " → "))
	if len(st.Tools) == 0 {
		b.WriteString("no tools\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tSTAGE\tSERVING\tCOMMIT\tHEAD\tACTIVE/CAP\tPINNED")
	for _, t := range st.Tools {
		for i, s := range t.Stages {
			name := ""
			if i == 0 {
				name = plain(t.Name, 40)
			}
			commit := "—"
			if s.Commit != "" {
				commit = plain(changes.DisplaySHA(s.Commit), 40)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, plain(s.Stage, 40), servingWords(s), commit, headWords(s), activeWords(s), pinWords(s))
		}
	}
	tw.Flush()
	for _, t := range st.Tools {
		for _, d := range t.Drift {
			b.WriteString("drift: " + plain(t.Name, 40) + ": " + plain(d, 300) + "\n")
		}
	}
	for _, w := range st.Warnings {
		b.WriteString("warning: " + plain(w, 300) + "\n")
	}
	return defuseText(b.String())
}

// StatusMarkdown renders a status for a job summary: a table per tool
// (stages as rows) and the drift.
func StatusMarkdown(st *ops.StatusReport) string {
	var b strings.Builder
	b.WriteString("### amigo-release status at " + code(changes.DisplaySHA(st.Head)) + "\n")
	for _, t := range st.Tools {
		b.WriteString("\n#### " + code(t.Name) + "\n\n| Stage | Serving | Commit | Head | Active / cap | Pinned |\n|---|---|---|---|---|---|\n")
		for _, s := range t.Stages {
			commit := "—"
			if s.Commit != "" {
				commit = code(changes.DisplaySHA(s.Commit))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", md(s.Stage, 60), md(servingWords(s), 40), commit, md(headWords(s), 60), md(activeWords(s), 120), md(pinWords(s), 120))
		}
		for _, d := range t.Drift {
			b.WriteString("\n⚠️ Drift: " + md(d, 300) + "\n")
		}
	}
	for _, w := range st.Warnings {
		b.WriteString("\n⚠️ " + md(w, 300) + "\n")
	}
	return b.String()
}

// rollbackTitle is the one-line outcome of a rollback.
func rollbackTitle(r *ops.RollbackReport) string {
	target := changes.DisplaySHA(r.Commit)
	if r.Version != "" {
		target = r.Version + " (" + changes.DisplaySHA(r.Commit) + ")"
	}
	switch {
	case r.DryRun:
		return fmt.Sprintf("rollback of %s to %s (dry run: nothing changed)", r.Tool, target)
	case r.OK:
		return fmt.Sprintf("rolled back %s to %s", r.Tool, target)
	}
	return fmt.Sprintf("rollback of %s to %s did not complete", r.Tool, target)
}

func smokeWords(s ops.RollbackStage) string {
	switch {
	case s.SmokeOK == nil:
		return "—"
	case *s.SmokeOK:
		return "passed (" + words.Plural(len(s.Smoke), "input", "inputs") + ")"
	}
	return "failed"
}

func deprecateWords(s ops.RollbackStage, dry bool) string {
	list := s.Deprecated
	if dry {
		list = s.Deprecate
	}
	if len(list) == 0 {
		if s.Note != "" {
			return s.Note
		}
		return "nothing"
	}
	return strings.Join(list, " ")
}

// RollbackText renders a rollback as the terminal table, in the order it
// worked (the last stage first), then the failed smoke inputs and the
// error.
func RollbackText(r *ops.RollbackReport) string {
	var b strings.Builder
	b.WriteString("amigo-release " + plain(rollbackTitle(r), 300) + "\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	verb := "DEPRECATED"
	if r.DryRun {
		verb = "WOULD DEPRECATE"
	}
	fmt.Fprintf(tw, "STAGE\tBEFORE\t%s\tNOW SERVES\tSMOKE\n", verb)
	for _, s := range r.Stages {
		after := s.After
		if r.DryRun && s.Target != "" {
			after = s.Target
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", plain(s.Stage, 40), orDash(s.Before), plain(deprecateWords(s, r.DryRun), 200), orDash(after), smokeWords(s))
	}
	tw.Flush()
	for _, s := range r.Stages {
		for _, t := range s.Smoke {
			if !t.Succeeded {
				fmt.Fprintf(&b, "smoke %s input %d: %s: %s\n", plain(s.Stage, 40), t.Input, plain(t.ExceptionType, 100), plain(t.Message, 300))
			}
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "error in %s: %s\n", plain(s.Stage, 40), plain(s.Error, 500))
		}
	}
	if r.Error != "" {
		b.WriteString("error: " + plain(r.Error, 500) + "\n")
	}
	return defuseText(b.String())
}

// RollbackMarkdown renders a rollback for a job summary.
func RollbackMarkdown(r *ops.RollbackReport) string {
	var b strings.Builder
	icon := "✅"
	if !r.OK {
		icon = "❌"
	}
	if r.DryRun {
		icon = "📋"
	}
	b.WriteString("### " + icon + " " + md(rollbackTitle(r), 300) + "\n\n")
	verb := "Deprecated"
	if r.DryRun {
		verb = "Would deprecate"
	}
	b.WriteString("| Stage | Before | " + verb + " | Now serves | Smoke |\n|---|---|---|---|---|\n")
	for _, s := range r.Stages {
		after := s.After
		if r.DryRun && s.Target != "" {
			after = s.Target
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", md(s.Stage, 60), md(orDash(s.Before), 20), md(deprecateWords(s, r.DryRun), 200), md(orDash(after), 20), md(smokeWords(s), 40))
	}
	for _, s := range r.Stages {
		for _, t := range s.Smoke {
			if !t.Succeeded {
				b.WriteString("\n" + testResult("Smoke test in "+md(s.Stage, 60)+",", t, scaled(100)))
			}
		}
	}
	if r.Error != "" {
		b.WriteString("\n**Error:** " + md(r.Error, 500) + "\n")
	}
	return b.String()
}

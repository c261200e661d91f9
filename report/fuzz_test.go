package report

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/pipeline"
)

// FuzzMarkdown feeds arbitrary text into every untrusted field and checks
// the structural invariants: only our tags, balanced blocks, no cut
// entities, no line that runs as a workflow command, within the limit.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"", "plain", "<script>alert(1)</script>", "@org/team", "a|b", "::set-output name=x::y",
		"##vso[task.setvariable variable=x]y", "</pre></details>", "&amp;", "&#", "\r\n::x", "\x00\x1b[31m",
		"`code`", "[x](javascript:alert(1))", "###[x", "###vso[y", "<!-- x -->", "\u2028::y", "   ::z", "#", "- item",
		"$x$ and $$\\Huge y$$", "<https://evil.example>", "&lt;script&gt;", "`<b>`", "``a`b``", "@\u200doctocat", "\u202eevil\u2066",
		"me@example.com @everyone", "fixes #123 and acme/x#4", "~~~", "**bold** _it_ ~~s~~", "</summary></details><details open>",
		"\\`x", "a\\|b", "\u0085::nel", "\ufeff::bom", "\u200b##vso[x]", "%0A::error::x", "#\u200b#[x]",
	} {
		f.Add(s, s, 2000)
	}
	f.Fuzz(func(t *testing.T, a, b string, limit int) {
		if limit < 0 {
			limit = -limit
		}
		limit = 3000 + limit%70000
		r := failedTestGate()
		r.Error = a
		r.Warnings = []string{b, a}
		tr := &r.Tools[0]
		tr.Name, tr.Reason, tr.Drift, tr.Bump = a, b, a+b, b
		tr.Commits = append(tr.Commits, pipeline.CommitSummary{SHA: b, Subject: a, Bump: b})
		s := &tr.Stages[1]
		s.Stage, s.Error = b, a+"\n"+b
		s.Tests[1].Message, s.Tests[1].ExceptionType, s.Tests[1].Output = a, b, strings.Repeat(a+"\n", 3)
		s.Tests[1].StackTrace = []string{a, b}
		r.Stages[1].Name = b
		got := Markdown(r, Options{Marker: a, RunURL: b, MaxBytes: limit})
		checkSafeMarkdown(t, got, limit)
		if !strings.HasPrefix(got, "<!-- amigo-release:") {
			t.Errorf("marker not first")
		}
		summary := Summary(r)
		checkSafeMarkdown(t, summary, SummaryLimit)
		if strings.Contains(summary, "<!--") {
			t.Errorf("summary holds an HTML comment")
		}
		checkSafeText(t, Text(r))
		checkSafeText(t, PlanText(r))
	})
}

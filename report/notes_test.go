package report

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/golden"
	"github.com/amigo-release/amigo-release/pipeline"
)

// noteCommits is a release's history: every group, a scope, a breaking
// change of a fix type, a revert pair, a non-conventional message and
// hostile text.
func noteCommits() []pipeline.CommitSummary {
	return []pipeline.CommitSummary{
		{SHA: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", Subject: "fix(api)!: drop the v1 units", Type: "fix", Scope: "api", Breaking: true, Bump: "major"},
		{SHA: "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", Subject: "feat(weather): wind speed <b>in knots</b> @octocat", Type: "feat", Scope: "weather", Bump: "minor"},
		{SHA: "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", Subject: "perf: cache the city table", Type: "perf", Bump: "patch"},
		{SHA: "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", Subject: "fix: handle 404 | ![x](https://evil.example/p.png)", Type: "fix", Bump: "patch"},
		{SHA: "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5", Subject: "docs: readme", Type: "docs"},
		{SHA: "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6", Subject: "::set-output name=x::y ##vso[task.complete]", Bump: "none"},
		{SHA: "0707070707070707070707070707070707070707", Subject: "Revert \"feat: beta\"", Note: "reverts 080808080808 in the same range: both cancel out"},
		{SHA: "0808080808080808080808080808080808080808", Subject: "feat: beta", Type: "feat", Note: "reverted by 070707070707 in the same range: both cancel out"},
	}
}

// TestNotesMarkdown: the notes of a version are grouped (breaking changes
// whatever their type, features, fixes and perf, other), reverted pairs are
// left out and counted, every commit links to its commit and to its pull
// request where the platform named one, and hostile text stays inert.
func TestNotesMarkdown(t *testing.T) {
	n := Notes{Tool: "weather_lookup", Version: "2.0.0", Commits: noteCommits(),
		Links: Links{RepoURL: "https://github.com/acme/tools", PullPath: "pull", PRs: map[string][]int{
			"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2": {41, 42}}},
		Record: &pipeline.RecordReport{Tag: "weather_lookup/v2.0.0", TagStatus: pipeline.TagCreated,
			TagURL: "https://github.com/acme/tools/tree/weather_lookup/v2.0.0", ReleaseURL: "https://github.com/acme/tools/releases/tag/weather_lookup/v2.0.0"},
		Drift: "commit a1a1a1a1a1a1 has different version numbers per stage: us 2.0.0, eu 1.4.0"}
	got := NotesMarkdown(n)
	golden.Assert(t, []byte(got))
	checkInertMarkdown(t, got)
	checkSafeText(t, got)

	sections := map[string]string{}
	var cur string
	for _, line := range strings.Split(got, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			cur = h
			continue
		}
		if cur != "" && strings.HasPrefix(line, "- ") {
			sections[cur] += line + "\n"
		}
	}
	for group, wants := range map[string][]string{
		GroupBreaking: {"**api:** drop the v1 units"},
		GroupFeatures: {"**weather:** wind speed &lt;b&gt;in knots&lt;/b&gt;", "[#41](https://github.com/acme/tools/pull/41), [#42](https://github.com/acme/tools/pull/42)"},
		GroupFixes:    {"cache the city table", "handle 404 \\| !\\[x\\]"},
		GroupOther:    {"readme", "::set-output"},
	} {
		for _, w := range wants {
			if !strings.Contains(sections[group], w) {
				t.Errorf("%s does not hold %q:\n%s", group, w, sections[group])
			}
		}
	}
	if strings.Contains(sections[GroupFeatures], "drop the v1") || strings.Contains(got, "beta") {
		t.Errorf("a breaking change is listed twice or a reverted commit is listed:\n%s", got)
	}
	wantContains(t, got, "2 commits left out: reverted in the same range", "[`a1a1a1a`](https://github.com/acme/tools/commit/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1)",
		"[GitHub Release](https://github.com/acme/tools/releases/tag/weather_lookup/v2.0.0)", "us 2.0.0, eu 1.4.0")

	// Without links, the SHA still names each commit.
	plain := NotesMarkdown(Notes{Tool: "weather_lookup", Range: "a1a1a1a..b2b2b2b", Commits: noteCommits()[:2]})
	wantContains(t, plain, "## weather\\_lookup (a1a1a1a..b2b2b2b)", "drop the v1 units (`a1a1a1a`)")
	if strings.Contains(plain, "](") {
		t.Errorf("links without a repository URL:\n%s", plain)
	}
	if got := NotesMarkdown(Notes{Tool: "x"}); !strings.Contains(got, "No changes to list.") {
		t.Errorf("empty notes: %q", got)
	}
}

func wantContains(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

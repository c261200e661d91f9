package report

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Links turns commits and pull requests into URLs on the repository's
// platform. The zero Links links nothing (commits show as their short SHA).
type Links struct {
	// RepoURL is the repository's web address: https://github.com/acme/tools
	// or https://dev.azure.com/acme/Tools/_git/tools. Only http(s) URLs
	// are used.
	RepoURL string
	// PullPath is the path of a pull request under RepoURL: "pull"
	// (GitHub) or "pullrequest" (Azure Repos).
	PullPath string
	// PRs lists, per commit SHA, the pull requests the platform says the
	// commit came from.
	PRs map[string][]int
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// commit is the URL of a commit, or "".
func (l Links) commit(sha string) string {
	base := safeURL(l.RepoURL)
	if base == "" || !fullSHA.MatchString(sha) {
		return ""
	}
	return strings.TrimRight(base, "/") + "/commit/" + sha
}

// pull is the URL of a pull request, or "".
func (l Links) pull(n int) string {
	base := safeURL(l.RepoURL)
	if base == "" || l.PullPath == "" || n <= 0 {
		return ""
	}
	return fmt.Sprintf("%s/%s/%d", strings.TrimRight(base, "/"), l.PullPath, n)
}

// Notes are the release notes of one tool version (or of a range).
type Notes struct {
	Tool string
	// Version is the released version ("" for a range: Range names it).
	Version string
	// Range names the commits when there is no version ("abc1234..def5678").
	Range string
	// Commits are the tool's commits, newest first.
	Commits []pipeline.CommitSummary
	Links   Links
	// Record is the tag and release of the version, when there are some.
	Record *pipeline.RecordReport
	// Drift says which regions number the version differently, if any.
	Drift string
	// MaxItems bounds the commits listed (0: all); the rest are counted.
	MaxItems int
}

// Note groups, in the order they are shown.
const (
	GroupBreaking = "⚠️ Breaking changes"
	GroupFeatures = "Features"
	GroupFixes    = "Fixes"
	GroupOther    = "Other"
)

// groupOf is the group of a commit: breaking changes (a "!" or a
// BREAKING CHANGE footer, any type), features (feat), fixes (fix, perf),
// other (every other type and non-conventional messages).
func groupOf(c pipeline.CommitSummary) string {
	switch {
	case c.Breaking:
		return GroupBreaking
	case c.Type == "feat":
		return GroupFeatures
	case c.Type == "fix" || c.Type == "perf":
		return GroupFixes
	}
	return GroupOther
}

// grouped sorts commits into the groups (each newest first) and counts the
// commits left out: those a revert in the same range cancelled.
func grouped(cs []pipeline.CommitSummary) (map[string][]pipeline.CommitSummary, int) {
	out := map[string][]pipeline.CommitSummary{}
	reverted := 0
	for _, c := range cs {
		if c.Note != "" {
			reverted++
			continue
		}
		g := groupOf(c)
		out[g] = append(out[g], c)
	}
	return out, reverted
}

// description is a commit subject without its Conventional Commit prefix
// ("feat(api)!: "), which the group and scope already say.
func description(c pipeline.CommitSummary) string {
	if c.Type == "" {
		return c.Subject
	}
	if _, rest, ok := strings.Cut(c.Subject, ": "); ok && strings.TrimSpace(rest) != "" {
		return rest
	}
	return c.Subject
}

// noteItem is one commit's list item: "**scope:** description
// ([`abc1234`](url), [#12](url))", every untrusted part escaped.
func noteItem(c pipeline.CommitSummary, l Links, max int) string {
	var b strings.Builder
	b.WriteString("- ")
	if c.Scope != "" {
		b.WriteString("**" + md(c.Scope, 60) + ":** ")
	}
	b.WriteString(md(description(c), max))
	refs := []string{}
	sha := code(changes.DisplaySHA(c.SHA))
	if u := l.commit(c.SHA); u != "" {
		sha = "[" + sha + "](" + u + ")"
	}
	refs = append(refs, sha)
	for _, n := range l.PRs[c.SHA] {
		pr := fmt.Sprintf("#%d", n)
		if u := l.pull(n); u != "" {
			pr = "[" + pr + "](" + u + ")"
		}
		refs = append(refs, pr)
	}
	b.WriteString(" (" + strings.Join(refs, ", ") + ")")
	return b.String()
}

// notesBody is the grouped lists: a heading per non-empty group at the
// given markdown level ("###", or "" for bold lines), at most items
// commits in all.
func notesBody(n Notes, heading string, items, text int) string {
	groups, reverted := grouped(n.Commits)
	var b strings.Builder
	shown, total := 0, 0
	for _, g := range []string{GroupBreaking, GroupFeatures, GroupFixes, GroupOther} {
		total += len(groups[g])
	}
	if total == 0 {
		b.WriteString("No changes to list.\n")
	}
	for _, g := range []string{GroupBreaking, GroupFeatures, GroupFixes, GroupOther} {
		cs := groups[g]
		if len(cs) == 0 || shown >= items {
			continue
		}
		if heading != "" {
			b.WriteString("\n" + heading + " " + g + "\n\n")
		} else {
			b.WriteString("\n**" + g + "**\n\n")
		}
		for _, c := range cs {
			if shown >= items {
				break
			}
			b.WriteString(noteItem(c, n.Links, text) + "\n")
			shown++
		}
	}
	if total > shown {
		b.WriteString(fmt.Sprintf("\n…and %s not shown.\n", words.Plural(total-shown, "more commit", "more commits")))
	}
	if reverted > 0 {
		b.WriteString(fmt.Sprintf("\n%s left out: reverted in the same range.\n", words.Plural(reverted, "commit", "commits")))
	}
	return b.String()
}

// recordLine says where the version's tag and release are, or "".
func recordLine(rec *pipeline.RecordReport) string {
	if rec == nil || rec.Tag == "" {
		return ""
	}
	var parts []string
	switch rec.TagStatus {
	case pipeline.TagCreated, pipeline.TagExists:
		tag := code(rec.Tag)
		if u := safeURL(rec.TagURL); u != "" {
			tag = "[" + tag + "](" + u + ")"
		}
		parts = append(parts, "Tag "+tag)
	default:
		parts = append(parts, "Tag "+code(rec.Tag)+" not created ("+md(rec.TagStatus, 20)+"; see the warnings)")
	}
	if u := safeURL(rec.ReleaseURL); u != "" {
		parts = append(parts, "[GitHub Release]("+u+")")
	}
	return strings.Join(parts, " · ") + "\n"
}

// NotesMarkdown renders release notes as a markdown document for a
// CHANGELOG.md: "## tool 1.3.0" (or the range), the tag, drift, then a
// "###" section per group. Untrusted text is escaped as everywhere else.
func NotesMarkdown(n Notes) string {
	var b strings.Builder
	title := "## " + md(n.Tool, 100)
	switch {
	case n.Version != "":
		title += " " + md(n.Version, 40)
	case n.Range != "":
		title += " (" + md(n.Range, 100) + ")"
	}
	b.WriteString(title + "\n")
	if s := recordLine(n.Record); s != "" {
		b.WriteString("\n" + s)
	}
	if n.Drift != "" {
		b.WriteString("\n> " + md(n.Drift, 500) + "\n")
	}
	items := n.MaxItems
	if items <= 0 {
		items = len(n.Commits)
	}
	b.WriteString(notesBody(n, "###", items, 500))
	// Every untrusted part went through md, which escapes '[' (so no
	// "##vso[" or "##[") and never lets a line start with "::": the
	// headings stay real headings.
	return b.String()
}

// toolNotes is the release notes section of one tool in the PR comment and
// the job summary: collapsible, with the version the first stage serves
// (or would serve, in a preview).
func toolNotes(t *pipeline.ToolReport, links Links, l limits) string {
	version := ""
	if len(t.Stages) > 0 {
		version = t.Stages[0].VersionAfter
	}
	title := "Release notes for " + htmlCode(t.Name)
	if version != "" {
		title += " " + htmlCode(version)
	}
	title += " (" + words.Plural(len(t.Commits), "commit", "commits") + ")"
	var b strings.Builder
	b.WriteString("\n<details><summary>" + title + "</summary>\n")
	if s := recordLine(t.Record); s != "" {
		b.WriteString("\n" + s)
	}
	b.WriteString(notesBody(Notes{Tool: t.Name, Version: version, Commits: t.Commits, Links: links}, "", l.items, l.text/2))
	b.WriteString("\n</details>\n")
	return b.String()
}

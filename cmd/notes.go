package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

func init() {
	register(command{name: "notes", order: 26, summary: "print a tool's release notes for any range of commits, as markdown (for a CHANGELOG.md)", run: runNotes})
}

const notesHelp = `Prints the release notes of a tool as markdown: its commits between --from and --to,
grouped as breaking changes, features, fixes (fix, perf) and other, each with its commit
(linked when the repository is on GitHub or Azure DevOps) and, in CI on a push, the pull
request it came from. Commits a revert cancels in the same range are left out. Commit
text is escaped as in the pull request comment. It makes no Amigo API call and needs no
credentials.

--from defaults to the tool's newest tag (the plan's records.tag_format, newest by
semver) that --to contains, else the tool's whole history. The heading names --version,
else the version of --to when it is one of the tool's tags, else the range. To keep a
changelog: amigo-release notes weather_lookup --version 1.4.0 >> CHANGELOG.md`

// NotesOptions are the flags of `notes`.
type NotesOptions struct {
	opsFlags
	Tool    string
	From    string
	To      string
	Version string
}

func runNotes(ctx context.Context, env *Env, args []string) error {
	var o NotesOptions
	f := newFlagSet("notes", "<tool> [--from REF] [--to REF] [flags]", notesHelp, env)
	o.define(f, false)
	f.String(&o.From, "from", "", "", "", "REF", "the commit the notes start after (excluded)")
	f.describeDefault("from", "the tool's newest tag that --to contains, else its whole history")
	f.String(&o.To, "to", "", "", "HEAD", "REF", "the last commit of the notes (included)")
	f.String(&o.Version, "version", "", "", "", "X.Y.Z", "the version the notes are for (their heading)")
	f.describeDefault("version", "--to's version when it is one of the tool's tags, else the range")
	flags, pos := f.splitPositional(args)
	if err := f.parse(flags, env.Stdout); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("notes takes one tool name, got %d arguments (see: amigo-release notes --help)", len(pos))
	}
	o.Tool = pos[0]
	o.Head = o.To
	e, err := openOps(ctx, env, o.opsFlags, false)
	if err != nil {
		return err
	}
	defer e.close()
	copts, err := pipeline.ChangesOptions(e.plan.Discovery)
	if err != nil {
		return usageErrorf("%s: %v", e.plan.File, err)
	}
	projects, problems, err := changes.Discover(e.repo, e.head, copts)
	if err != nil {
		return usageErrorf("discover projects: %v", err)
	}
	var names []string
	found := false
	for _, p := range projects {
		names = append(names, p.Name)
		found = found || p.Name == o.Tool
	}
	for i := range problems {
		if !found && problems[i].Name == o.Tool {
			return usageErrorf("the project of %s is not a tool at %s: %v", o.Tool, short(e.head), &problems[i])
		}
	}
	if !found {
		return usageErrorf("%q is not a tool project at %s; the tools are: %s", o.Tool, short(e.head), strings.Join(names, ", "))
	}
	from, fromName, err := notesBase(e, o)
	if err != nil {
		return err
	}
	res, err := changes.Detect(ctx, e.repo, changes.Request{Head: e.head, DefaultBase: from, Options: copts, Deepen: e.f.deepenOptions()})
	if err != nil {
		return usageErrorf("read the commits %s..%s: %v", fromName, o.To, err)
	}
	var commits []pipeline.CommitSummary
	if pc, ok := res.Project(o.Tool); ok {
		commits = pipeline.CommitSummaries(pc.Commits)
	}
	n := report.Notes{Tool: o.Tool, Version: o.Version, Commits: commits, Links: e.f.links(ctx, commitSHAs(commits))}
	if n.Version == "" {
		n.Version = tagVersion(e, o.Tool, o.To)
	}
	if n.Version == "" {
		n.Range = fromName + ".." + o.To
	}
	_, err = fmt.Fprint(env.Stdout, report.NotesMarkdown(n))
	return err
}

// notesBase resolves --from, or picks the tool's newest tag (by semver)
// that head contains, other than head itself; "" means the whole history.
func notesBase(e *opsEnv, o NotesOptions) (sha, name string, err error) {
	if o.From != "" {
		sha, err := e.repo.Resolve(o.From)
		if err != nil {
			return "", "", usageErrorf("--from %q: %v", o.From, err)
		}
		return sha, o.From, nil
	}
	prefix, suffix := e.plan.Records.TagPattern(o.Tool)
	tags, err := e.repo.Tags(prefix)
	if err != nil {
		return "", "", usageErrorf("list tags: %v", err)
	}
	var best *changes.Tag
	var bestV amigo.Version
	for i := range tags {
		t := &tags[i]
		v, ok := versionOfTag(t.Name, prefix, suffix)
		if !ok || t.Commit == e.head {
			continue
		}
		if in, err := e.repo.IsAncestor(t.Commit, e.head); err != nil || !in {
			continue
		}
		if best == nil || bestV.Less(v) {
			best, bestV = t, v
		}
	}
	if best == nil {
		return "", "the first commit", nil
	}
	return best.Commit, best.Name, nil
}

// versionOfTag reads the version out of a tag name of the format.
func versionOfTag(name, prefix, suffix string) (amigo.Version, bool) {
	mid, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return amigo.Version{}, false
	}
	mid, ok = strings.CutSuffix(mid, suffix)
	if !ok {
		return amigo.Version{}, false
	}
	v, err := amigo.ParseVersion(mid)
	return v, err == nil
}

// tagVersion is the version ref names when it is one of the tool's tags
// (as written, or the tag on the commit it resolves to), else "".
func tagVersion(e *opsEnv, tool, ref string) string {
	prefix, suffix := e.plan.Records.TagPattern(tool)
	if v, ok := versionOfTag(strings.TrimPrefix(ref, "refs/tags/"), prefix, suffix); ok {
		return v.String()
	}
	tags, err := e.repo.Tags(prefix)
	if err != nil {
		return ""
	}
	var vs []amigo.Version
	for _, t := range tags {
		if v, ok := versionOfTag(t.Name, prefix, suffix); ok && t.Commit == e.head {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return ""
	}
	slices.SortFunc(vs, func(a, b amigo.Version) int {
		if a.Less(b) {
			return 1
		}
		if b.Less(a) {
			return -1
		}
		return 0
	})
	return vs[0].String()
}

// short abbreviates a commit for messages.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

package cmd

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/platform"
	"github.com/amigo-release/amigo-release/promote"
	"github.com/amigo-release/amigo-release/report"
)

// maxPRLookups bounds the commits whose pull requests one process asks
// the platform for (GitHub answers one commit a call).
const maxPRLookups = 50

// maxReleaseNotes bounds the commits listed in a GitHub Release body (the
// API takes 125,000 characters).
const maxReleaseNotes = 300

// recorder is the release's pipeline.Recorder: the plan's records keys
// (tags, GitHub Releases) through the CI platform's repository API.
type recorder struct {
	f       *face
	records promote.Records
	repo    platform.Repository // nil when repoErr is set
	repoErr error
}

// recorder returns the Recorder of a release, or nil when the plan asks
// for no tags.
func (f *face) recorder(plan *promote.Plan) pipeline.Recorder {
	if !plan.Records.Tags {
		return nil
	}
	repo, err := platform.RepositoryOf(f.p)
	return &recorder{f: f, records: plan.Records, repo: repo, repoErr: err}
}

// Record ensures the version's tag (never moving an existing one) and,
// when asked, its GitHub Release with the version's notes. Problems are
// warnings: the version serves whatever happens here.
func (r *recorder) Record(ctx context.Context, v pipeline.VersionRecord) pipeline.RecordReport {
	tag := r.records.TagName(v.Tool, v.Version)
	rep := pipeline.RecordReport{Tag: tag}
	if r.repoErr != nil {
		rep.TagStatus = pipeline.TagSkipped
		if errors.Is(r.repoErr, platform.ErrNoRepositoryAPI) {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("tag %s not created: %v; to make it by hand: git tag %s %s && git push origin %s", tag, r.repoErr, tag, v.Commit, tag))
		} else {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("tag %s not created: %v", tag, r.repoErr))
		}
		return rep
	}
	res, err := r.repo.EnsureTag(ctx, tag, v.Commit)
	if err != nil {
		rep.TagStatus = pipeline.TagFailed
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("tag %s not created: %v", tag, err))
		return rep
	}
	rep.TagStatus, rep.TagURL = res.Status, res.URL
	if res.Status == pipeline.TagConflict {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("tag %s already names commit %s, not the released commit %s: left as it is (a tag is never moved); if it is wrong, delete it by hand and rerun",
			tag, res.Existing, v.Commit))
		return rep
	}
	if !r.records.Releases {
		return rep
	}
	links := r.f.links(ctx, commitSHAs(v.Commits))
	body := report.NotesMarkdown(report.Notes{Tool: v.Tool, Version: v.Version, Commits: v.Commits, Links: links, MaxItems: maxReleaseNotes})
	rel, err := r.repo.EnsureRelease(ctx, tag, v.Commit, v.Tool+" "+v.Version, body)
	switch {
	case errors.Is(err, platform.ErrNoReleases):
		rep.Warnings = append(rep.Warnings, "records.releases: "+err.Error())
	case err != nil:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("release of %s not created: %v", tag, err))
	default:
		rep.ReleaseURL, rep.ReleaseCreated = rel.URL, rel.Created
	}
	return rep
}

func commitSHAs(cs []pipeline.CommitSummary) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.SHA
	}
	return out
}

// linkState caches what the face learned for the release notes' links:
// the repository's web address and the pull requests of commits.
type linkState struct {
	once  sync.Once
	base  report.Links
	repo  platform.Repository
	mu    sync.Mutex
	prs   map[string][]int
	asked map[string]bool
	warn  sync.Once
}

// links returns the links of the release notes for these commits: the
// repository's web address (from the CI, else the origin remote) and,
// on a push or a manual run in CI, the pull requests the platform says
// each commit came from (asked once per commit, for at most maxPRLookups
// commits per process). On a pull request the comment sits on the pull
// request itself: no lookups.
func (f *face) links(ctx context.Context, shas []string) report.Links {
	ls := &f.notes
	ls.once.Do(func() {
		ls.prs, ls.asked = map[string][]int{}, map[string]bool{}
		remote := ""
		if repo, err := changes.Open(f.o.Repo); err == nil {
			remote = repo.RemoteURL("origin")
			repo.Close()
		}
		ls.base = platform.LinksOf(f.p, f.env.Getenv, remote)
		if inCI(f.env.Getenv) && !f.isPullRequest() {
			ls.repo, _ = platform.RepositoryOf(f.p)
		}
	})
	out := ls.base
	if ls.repo == nil || len(shas) == 0 {
		return out
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var ask []string
	for _, s := range shas {
		if !ls.asked[s] && len(ls.asked) < maxPRLookups {
			ask = append(ask, s)
			ls.asked[s] = true
		}
	}
	if len(ask) > 0 {
		prs, err := ls.repo.PullRequestsOf(ctx, ask)
		if err != nil {
			ls.warn.Do(func() { f.p.Warningf("release notes without pull request links: %v", err) })
		}
		for k, v := range prs {
			ls.prs[k] = v
		}
	}
	out.PRs = map[string][]int{}
	for _, s := range shas {
		if p := ls.prs[s]; len(p) > 0 {
			out.PRs[s] = p
		}
	}
	return out
}

// reportLinks are the links of every released tool's notes in rep.
func (f *face) reportLinks(ctx context.Context, rep *pipeline.Report) report.Links {
	var shas []string
	for _, t := range rep.Tools {
		shas = append(shas, commitSHAs(t.Commits)...)
	}
	return f.links(ctx, shas)
}

package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Recorder leaves a record of a tool version in the repository once the
// version serves in the tool's first stage (the plan's first that the tool
// does not skip): a git tag on the tested commit
// and, where the plan asks, a release with its notes (Options.Records; the
// CLI builds one from the CI platform). The pipeline calls it at most once
// per tool and run, from the first stage, after every gate of that stage
// passed (published or found up to date, verified, smoke-tested) and
// before the stages that need it start; never in plan mode or a dry run.
// It must be idempotent: a rerun calls it again for the same version.
type Recorder interface {
	Record(ctx context.Context, v VersionRecord) RecordReport
}

// VersionRecord is a tool version that serves in the first stage.
type VersionRecord struct {
	Tool string
	// Path is the project's directory.
	Path string
	// Version is the first stage's version number.
	Version string
	// Commit is the tested commit the version was built from.
	Commit string
	// Stage is the first stage's name.
	Stage string
	// Commits are the tool's commits in this release, newest first.
	Commits []CommitSummary
}

// Tag outcomes in RecordReport.TagStatus.
const (
	// TagCreated: the tag was created on the commit.
	TagCreated = "created"
	// TagExists: the tag already named the commit (a rerun); left as it is.
	TagExists = "exists"
	// TagConflict: the tag names another commit; it was left alone (never
	// moved), with a warning naming both commits.
	TagConflict = "conflict"
	// TagSkipped: no tag could be made here (no CI platform API, no token).
	TagSkipped = "skipped"
	// TagFailed: the platform refused or failed; see the warnings.
	TagFailed = "failed"
)

// RecordReport is what a Recorder left for one tool version.
type RecordReport struct {
	// Tag is the tag's name ("" when tags are off).
	Tag string `json:"tag,omitempty"`
	// TagStatus is one of the Tag* outcomes.
	TagStatus string `json:"tag_status,omitempty"`
	// TagURL links the tag's tree or commit, when the platform says.
	TagURL string `json:"tag_url,omitempty"`
	// ReleaseURL links the GitHub Release of the version, when one exists.
	ReleaseURL string `json:"release_url,omitempty"`
	// ReleaseCreated is set when this run created that release.
	ReleaseCreated bool `json:"release_created,omitempty"`
	// Warnings say, with the fix, what could not be recorded.
	Warnings []string `json:"warnings,omitempty"`
}

// recordVersion is the record step: it calls the Recorder for a tool whose
// version now serves in its first stage (every gate before the soak passed)
// and says what it left. A record never fails the stage: the release itself
// is done, so what could not be recorded is a warning.
func (r *runner) recordVersion(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	rec := r.opts.Records.Record(ctx, VersionRecord{
		Tool: t.name, Path: t.path, Version: s.rep.VersionAfter, Commit: t.commit, Stage: s.spec.Name, Commits: t.rep.Commits,
	})
	for i, w := range rec.Warnings {
		rec.Warnings[i] = r.log.mask(w)
	}
	t.rep.Record = &rec
	var what []string
	if rec.Tag != "" {
		what = append(what, fmt.Sprintf("tag %s %s", rec.Tag, rec.TagStatus))
	}
	if rec.ReleaseURL != "" {
		verb := "found"
		if rec.ReleaseCreated {
			verb = "created"
		}
		what = append(what, "release "+verb+" "+rec.ReleaseURL)
	}
	if len(what) == 0 {
		what = []string{"nothing to record"}
	}
	if len(rec.Warnings) > 0 {
		return strings.Join(what, "; "), &stepWarning{strings.Join(rec.Warnings, "; ")}
	}
	return strings.Join(what, "; "), nil
}

// records: the record step runs once per tool and run, in the tool's first
// stage, when a Recorder is set and the stage serves a version.
func records(r *runner, t *toolRun, s *stageRun) bool {
	return r.opts.Records != nil && s.spec.Name == r.firstStageOf(t) && s.rep.VersionAfter != ""
}

// firstStageOf is the tool's first stage: the first of the plan's order
// that its skip_stages does not name (its number is the tag's).
func (r *runner) firstStageOf(t *toolRun) string {
	for _, st := range r.order {
		if !slices.Contains(t.settings.SkipStages, st.Name) {
			return st.Name
		}
	}
	return ""
}

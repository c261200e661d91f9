package pipeline

import (
	"context"
	"fmt"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
)

// versions is the versions step: it learns the stage's active versions and
// from them what the stage does (learnVersions). It lists them only when
// nothing else says what they are:
//
//   - a tool ensure created in this run has none;
//   - where the analysis listed them (every stage of every project: the
//     stray check, strays.go) and no version served the commit, its list is
//     used: nothing else changes the tool meanwhile (one release of a
//     branch at a time), except a publish an earlier run left building,
//     whose version verify then finds beside the new one, which is
//     withdrawn at once (dedupeAfter). A version that serves the commit
//     is only adopted from a list read now.
func (r *runner) versions(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	switch {
	case s.created:
		return r.learnVersions(t, s, nil) + " (the tool was created in this run)", nil
	case s.remote.known && s.remote.tool != nil && s.tool != nil && s.tool.ID == s.remote.tool.ID && versionWithCommit(s.remote.versions, t.commit) == nil:
		s.reused = true
		return r.learnVersions(t, s, s.remote.versions) + " (as the analysis listed them)", nil
	}
	var vs []amigo.ToolVersion
	if err := r.read(ctx, func() (err error) { vs, err = s.api.Versions(ctx, s.tool.ID); return err }); err != nil {
		return "", fmt.Errorf("list versions: %w", err)
	}
	return r.learnVersions(t, s, vs), nil
}

// learnVersions records the stage's active versions (from the versions
// step in a run, from the analysis in plan mode) and what follows from
// them: the bump a publish would take (stageBump), or, when a version
// already serves the commit (an earlier run published it and stopped
// before the stage finished), that the stage adopts it instead of
// publishing, once the gates after the publish have passed in this run;
// in a test-gated stage the test runs again first, because nothing shows
// that the earlier run's test passed on that version's commit (a branch
// that moved during that run leaves exactly such a version behind).
func (r *runner) learnVersions(t *toolRun, s *stageRun, vs []amigo.ToolVersion) string {
	s.active = vs
	what := "none yet"
	if n := newest(vs); n != nil {
		s.rep.VersionBefore = n.Version.String()
		what = fmt.Sprintf("%d active, newest %s", len(vs), s.rep.VersionBefore)
	}
	v := versionWithCommit(vs, t.commit)
	if v == nil {
		s.rep.Bump = string(stageBump(t.commitsBump, vs))
		return what
	}
	s.serving = v
	s.rep.Bump = "" // nothing is published here
	s.rep.VersionAfter = v.Version.String()
	s.rep.CommitHash = v.ToolCommitHash
	s.liveSince = v.CreatedAt.GetTime()
	what += fmt.Sprintf("; up to date: %s already serves %s", s.rep.VersionAfter, changes.ShortSHA(t.commit))
	if s.spec.Test {
		what += " (adopted once the test gate passes on it in this run)"
	} else {
		// Its commit is the one the stages this one needs have passed.
		s.confirmed = true
	}
	return what
}

// exactConstraint is amigo.ExactConstraint of the version v spells. A v
// that is no version gives "", which DeprecateVersions refuses before
// sending: a malformed version never becomes a wider constraint.
func exactConstraint(v string) string {
	ver, err := amigo.ParseVersion(v)
	if err != nil {
		return ""
	}
	return amigo.ExactConstraint(ver)
}

// newest returns the newest non-deprecated version by semver, or nil.
func newest(active []amigo.ToolVersion) *amigo.ToolVersion {
	var best *amigo.ToolVersion
	for i := range active {
		tv := &active[i]
		if tv.Deprecated || !tv.Version.Valid() {
			continue
		}
		if best == nil || best.Version.Less(tv.Version) {
			best = tv
		}
	}
	return best
}

// versionWithCommit returns the newest non-deprecated version pinned to
// commit, or nil.
func versionWithCommit(active []amigo.ToolVersion, commit string) *amigo.ToolVersion {
	var best *amigo.ToolVersion
	for i := range active {
		tv := &active[i]
		if tv.Deprecated || !sameCommit(tv.ToolCommitHash, commit) {
			continue
		}
		if best == nil || best.Version.Less(tv.Version) {
			best = tv
		}
	}
	return best
}

// sameCommit compares two commit hashes, allowing either to be abbreviated
// (at least 7 hex digits).
func sameCommit(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 7 && b[:len(a)] == a
}

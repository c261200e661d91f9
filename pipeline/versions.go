package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
)

// versions is the versions step: it learns the stage's active versions and
// from them what the stage does (learnVersions). It lists them only when
// nothing else says what they are:
//
//   - a tool ensure created in this run has none;
//   - where the analysis listed them (the first stage, test-gated stages,
//     a tool that resumes) and no version served the commit, its list is
//     used: nothing else changes the tool meanwhile (one release of a
//     branch at a time), except a publish an earlier run left building,
//     whose version verify then finds beside the new one, which is
//     withdrawn at once (dedupeAfter). A version that serves the commit
//     is only adopted from a list read now;
//   - where publishesBlind says the stage cannot serve the commit yet,
//     the publish goes out with the commits' bump and verify's list
//     afterwards says what was there (see publishesBlind).
func (r *runner) versions(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	switch {
	case s.created:
		return r.learnVersions(t, s, nil) + " (the tool was created in this run)", nil
	case s.remote.known && s.remote.tool != nil && s.tool != nil && s.tool.ID == s.remote.tool.ID && versionWithCommit(s.remote.versions, t.commit) == nil:
		s.reused = true
		return r.learnVersions(t, s, s.remote.versions) + " (as the analysis listed them)", nil
	case r.publishesBlind(t, s):
		s.blind = true
		s.rep.Bump = string(blindBump(t.commitsBump))
		return "not listed before publishing: the first stage does not serve " + changes.ShortSHA(t.commit) + " yet, so this one cannot; verify lists them after", nil
	}
	var vs []amigo.ToolVersion
	if err := r.read(ctx, func() (err error) { vs, err = s.api.Versions(ctx, s.tool.ID); return err }); err != nil {
		return "", fmt.Errorf("list versions: %w", err)
	}
	s.see(vs)
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

// publishesBlind reports a stage where the versions need not be listed
// before publishing, because the analysis shows the stage cannot serve the
// commit yet: a version serves here only after it served in the stages
// this one needs, and the tool's first stage has a newest version, which
// is not the commit (a tool that resumes is listed everywhere by the
// analysis). The tool exists here (it was listed), the stage has no test
// gate (those the analysis lists), and the server has not refused a
// publish for too many active versions in this run (there, the count is
// needed to make room first). What the list would have given is taken
// care of: the bump is the commits' (blindBump; a tool with no version at
// all here is refused, and the publish step lists then and publishes as
// major), verify's list after the publish gives the version before, and a
// version of the commit already there (only by hand) is found by it and
// the new one withdrawn (dedupeAfter); after a lost answer the branch tip
// tells which commit the lost attempt built (publishRequest.BeforeUnknown).
func (r *runner) publishesBlind(t *toolRun, s *stageRun) bool {
	first := r.order[0]
	fs := t.byName[first.Name]
	if s.first || s.spec.Test || s.remote.tool == nil || s.tool == nil || s.tool.ID != s.remote.tool.ID ||
		fs == nil || !fs.remote.known || fs.remote.tool == nil || slices.Contains(t.settings.SkipStages, first.Name) {
		return false
	}
	n := newest(fs.remote.versions)
	if n == nil || sameCommit(n.ToolCommitHash, t.commit) {
		return false
	}
	_, refuses := r.caps.refusesAt(serverKey(s.spec.BaseURL))
	return !refuses
}

// blindBump is the bump of a publish where the stage's versions were not
// listed (publishesBlind): the tool has versions there, so the commits'.
func blindBump(commits changes.Bump) amigo.BumpType {
	return stageBump(commits, []amigo.ToolVersion{{}})
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

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
)

// errUntested marks a stage whose version was built from a commit other
// than the tested one: it never serves beyond the first stage and is never
// promoted.
var errUntested = errors.New("untested commit")

// verify is the verify step. The API builds the branch tip, not a commit,
// so the version a stage serves must be checked against the commit the test
// gate passed on:
//
//   - a published version must pin the tested commit. One that pins another
//     commit (the branch moved between the test and the publish) fails the
//     stage, so it is never promoted, and is deprecated at once beyond the
//     first stage, where nothing untested may serve; in the first stage it
//     stays only when publish.deprecate_untested is false (the default): a
//     run from its commit then tests that commit before adopting it.
//   - a version adopted in a test-gated stage (an earlier run published it)
//     is adopted only if the branch tip is still its commit after this
//     run's test, so the test ran on that very commit.
//
// After a publish of this run, verify runs even when the run has been
// halted or interrupted meanwhile (stageStep.completes), and its calls
// retry until ctx ends (finishCall): the publish was let finish, and so is
// its check.
func (r *runner) verify(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	if s.adopting() {
		tip, err := r.tips.tipNow(ctx, s.spec.Branch)
		if err != nil {
			return "", fmt.Errorf("%w: cannot tell which commit the test ran on, so %s is not adopted: %v", errUntested, s.rep.VersionAfter, err)
		}
		if !sameCommit(tip, t.commit) {
			return "", fmt.Errorf("%w: the branch %s moved to %s during the test, so the test may not have run on %s, which %s serves: %s is not adopted; release again from the tip",
				errUntested, s.spec.Branch, changes.ShortSHA(tip), changes.ShortSHA(t.commit), s.rep.VersionAfter, s.rep.VersionAfter)
		}
		s.confirmed = true
		return fmt.Sprintf("%s pins %s, the commit the test passed on (%s's tip): adopted", s.rep.VersionAfter, changes.ShortSHA(t.commit), s.spec.Branch), nil
	}
	// The publish may have finished after a halt or an interrupt: its
	// check is part of it, so only ctx ends the retries (finishCall).
	var vs []amigo.ToolVersion
	if err := r.finishCall(ctx, transient, func() (err error) { vs, err = s.api.Versions(ctx, s.tool.ID); return err }); err != nil {
		return "", fmt.Errorf("list versions to verify %s: %w", s.rep.VersionAfter, err)
	}
	s.after = vs // prune works from this list
	s.see(vs)
	if s.blind {
		if n := newestExcept(vs, s.rep.VersionAfter); n != nil {
			s.rep.VersionBefore = n.Version.String()
		}
	}
	for _, v := range vs {
		if v.Version.String() != s.rep.VersionAfter {
			continue
		}
		s.rep.CommitHash = v.ToolCommitHash
		if !sameCommit(v.ToolCommitHash, t.commit) {
			return "", r.untested(ctx, t, s)
		}
		s.confirmed = true
		what := fmt.Sprintf("%s pins %s", s.rep.VersionAfter, changes.ShortSHA(v.ToolCommitHash))
		if !s.first && !s.strayChecked {
			// The analysis did not list this stage (strays.go): this list
			// is where a version an earlier run left untested shows, an
			// older one of this very commit included (the stages this one
			// needs did not serve it before this run).
			err := r.checkStrays(ctx, t, s, s.tool.ID)
			vs = slices.DeleteFunc(slices.Clone(vs), func(v amigo.ToolVersion) bool {
				return v.Version.String() != s.rep.VersionAfter && slices.Contains(s.rep.Withdrawn, v.Version.String())
			})
			s.after = vs
			if err != nil {
				return "", err
			}
		}
		if s.blind || s.reused {
			what += r.dedupeAfter(ctx, t, s, vs)
		}
		return what, nil
	}
	return "", fmt.Errorf("version %s is not among the tool's active versions", s.rep.VersionAfter)
}

// dedupeAfter withdraws the version just published in a stage whose
// versions were not listed right before (publishesBlind, or the analysis'
// list was used) when an older version of the same commit is there too (a
// publish an earlier run left building finished meanwhile, or one made by
// hand): the older one serves, as the versions step would have adopted
// it. It says what it did.
func (r *runner) dedupeAfter(ctx context.Context, t *toolRun, s *stageRun, vs []amigo.ToolVersion) string {
	var older *amigo.ToolVersion
	for i := range vs {
		v := &vs[i]
		if v.Deprecated || v.Version.String() == s.rep.VersionAfter || !sameCommit(v.ToolCommitHash, t.commit) {
			continue
		}
		if older == nil || v.Version.Less(older.Version) {
			older = v
		}
	}
	if older == nil {
		return ""
	}
	dup := s.rep.VersionAfter
	if err := r.retryCall(ctx, idempotentRetry, func() error { return s.api.DeprecateVersions(ctx, s.tool.ID, exactConstraint(dup)) }); err != nil {
		w := fmt.Sprintf("%s already served %s, and deprecating the second version %s failed (%v): deprecate it by hand", older.Version, changes.ShortSHA(t.commit), dup, err)
		s.rep.Warnings = append(s.rep.Warnings, r.log.mask(w))
		return "; " + w
	}
	s.rep.Withdrawn = append(s.rep.Withdrawn, dup)
	r.count(func(st *Stats) { st.Withdrawn++ })
	s.rep.VersionAfter = older.Version.String()
	w := fmt.Sprintf("%s already served %s (an earlier run's publish that finished meanwhile, or one made by hand): %s, a second version of it, was deprecated at once", older.Version, changes.ShortSHA(t.commit), dup)
	s.rep.Warnings = append(s.rep.Warnings, w)
	return "; " + w
}

// newestExcept is the newest non-deprecated version other than v.
func newestExcept(vs []amigo.ToolVersion, v string) *amigo.ToolVersion {
	var rest []amigo.ToolVersion
	for _, x := range vs {
		if x.Version.String() != v {
			rest = append(rest, x)
		}
	}
	return newest(rest)
}

// untested handles a version the server built from another commit than the
// tested one: the error says what happened, what became of the version and
// what to do.
func (r *runner) untested(ctx context.Context, t *toolRun, s *stageRun) error {
	v, built := s.rep.VersionAfter, s.rep.CommitHash
	what := fmt.Sprintf("%s was built from commit %s, not the tested commit %s: the branch %s moved during the release",
		v, changes.ShortSHA(built), changes.ShortSHA(t.commit), s.spec.Branch)
	if s.first && !r.opts.Plan.Publish.DeprecateUntested {
		return fmt.Errorf("%w: %s; %s stays in %s, the first stage, and is never promoted (publish.deprecate_untested: false); a run from %s tests that commit before promoting it",
			errUntested, what, v, s.spec.Name, changes.ShortSHA(built))
	}
	why := "beyond the first stage nothing untested serves"
	if s.first {
		why = "publish.deprecate_untested: true"
	}
	err := r.finishCall(ctx, idempotentRetry, func() error { return s.api.DeprecateVersions(ctx, s.tool.ID, exactConstraint(v)) })
	if err != nil {
		return fmt.Errorf("%w: %s; deprecating %s at once (%s) failed: %v: deprecate it by hand (DELETE .../version/==%s) before anything resolves to it",
			errUntested, what, v, why, err, v)
	}
	s.rep.Withdrawn = append(s.rep.Withdrawn, v)
	r.count(func(st *Stats) { st.Withdrawn++ })
	return fmt.Errorf("%w: %s; %s was deprecated at once (%s); a run from %s tests and releases that commit",
		errUntested, what, v, why, changes.ShortSHA(built))
}

// planVerify says what verify would check.
func (r *runner) planVerify(t *toolRun, s *stageRun) (string, bool) {
	if s.adopting() {
		return fmt.Sprintf("check that %s's tip is still %s after the test, then adopt %s", s.spec.Branch, changes.ShortSHA(t.commit), s.rep.VersionAfter), true
	}
	return "verify the published commit is " + changes.ShortSHA(t.commit), true
}

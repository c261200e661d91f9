package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// pruneSelection picks the versions to deprecate so that at most activeCap
// non-deprecated versions remain (newest by semver precedence first), never
// choosing keepAlso (the version just released) nor a pinned version. Pinned
// versions and keepAlso stay even when that leaves more than activeCap
// active. The result is oldest first, each as "X.Y.Z".
func pruneSelection(active []amigo.ToolVersion, activeCap int, keepAlso string, pinned func(amigo.Version) bool) []string {
	var all []amigo.Version
	seen := map[amigo.Version]bool{}
	for _, tv := range active {
		if tv.Deprecated || seen[tv.Version] {
			continue
		}
		seen[tv.Version] = true
		if !tv.Version.Valid() {
			continue // not a version we can order: leave it alone
		}
		all = append(all, tv.Version)
	}
	slices.SortFunc(all, func(a, b amigo.Version) int { return b.Compare(a) })
	if activeCap < 1 {
		activeCap = 1
	}
	var out []string
	for i, v := range all {
		if i < activeCap {
			continue
		}
		s := v.String()
		if s == keepAlso || (pinned != nil && pinned(v)) {
			continue
		}
		out = append(out, s)
	}
	// oldest first: deprecate from the bottom so an interrupted prune leaves
	// the newest versions in place.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// pruneOneForCap picks the single oldest version that may be deprecated to
// make room for a publish refused for too many active versions: never a
// pinned one, never one serving commit (the commit being released). ok is
// false when nothing may go.
func pruneOneForCap(active []amigo.ToolVersion, commit string, pinned func(amigo.Version) bool) (string, bool) {
	var best *amigo.ToolVersion
	for i := range active {
		tv := &active[i]
		if tv.Deprecated || tv.ToolCommitHash == commit || (pinned != nil && pinned(tv.Version)) {
			continue
		}
		if best == nil || tv.Version.Less(best.Version) {
			best = tv
		}
	}
	if best == nil {
		return "", false
	}
	return best.Version.String(), true
}

// prune is the prune step: once the stage serves the commit, it deprecates
// the versions beyond the stage's active cap (newest by semver kept, each
// with an exact ==X.Y.Z, never the version the stage serves nor a pinned
// one). It never fails the stage: the release is done, and a deprecation
// that does not go through is a warning (the next run prunes again).
func (r *runner) prune(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	if s.tool == nil {
		return "", errSkip
	}
	// The list verify read once the stage served its version, or, for an
	// adopted one, the versions step's (nothing was published since): no
	// list of its own. A stale list errs on the safe side: a version it
	// lacks was published since and only pushes more out of the cap, one
	// deprecated since is deprecated again (a no-op).
	vs := s.after
	if vs == nil && s.adopting() {
		vs = s.active
	}
	if vs == nil {
		if err := r.read(ctx, func() (err error) { vs, err = s.api.Versions(ctx, s.tool.ID); return err }); err != nil {
			return "", &stepWarning{fmt.Sprintf("prune: list versions: %v", err)}
		}
	}
	sel := pruneSelection(vs, s.spec.ActiveCap, s.rep.VersionAfter, func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) })
	if len(sel) == 0 {
		return "", errSkip
	}
	var done, failed []string
	for _, v := range sel {
		if err := r.retryCall(ctx, idempotentRetry, func() error { return s.api.DeprecateVersions(ctx, s.tool.ID, exactConstraint(v)) }); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", v, err))
			continue
		}
		done = append(done, v)
		s.rep.Pruned = append(s.rep.Pruned, v)
		r.count(func(st *Stats) { st.Pruned++ })
	}
	what := "deprecated " + strings.Join(done, ", ")
	if len(done) == 0 {
		what = "deprecated none"
	}
	if len(failed) > 0 {
		return what, &stepWarning{"prune: could not deprecate " + strings.Join(failed, "; ")}
	}
	return what, nil
}

// planPrune says which versions a run would deprecate once the stage
// serves the commit.
func (r *runner) planPrune(t *toolRun, s *stageRun) (string, bool) {
	if !s.remote.known || s.rep.VersionAfter == "" {
		return "", false
	}
	after := s.active
	if !s.adopting() {
		next, err := amigo.ParseVersion(s.rep.VersionAfter)
		if err != nil {
			return "", false
		}
		after = append(slices.Clone(s.active), amigo.ToolVersion{Version: next, ToolCommitHash: t.commit})
	}
	s.rep.Pruned = pruneSelection(after, s.spec.ActiveCap, s.rep.VersionAfter, func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) })
	if len(s.rep.Pruned) == 0 {
		return "", false
	}
	return "deprecate " + strings.Join(s.rep.Pruned, ", "), true
}

package pipeline

import (
	"slices"

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

// exactConstraint is the PEP 440 constraint that matches exactly v.
func exactConstraint(v string) string { return "==" + v }

// newest returns the newest non-deprecated version by semver, or nil.
func newest(active []amigo.ToolVersion) *amigo.ToolVersion {
	var best *amigo.ToolVersion
	for i := range active {
		tv := &active[i]
		if tv.Deprecated {
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

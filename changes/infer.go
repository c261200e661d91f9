package changes

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// inferBump applies revert cancellation and Release-As to pc.Commits and
// sets pc.Bump and pc.Reason. It returns warnings.
func inferBump(pc *ProjectChange, msgs map[plumbing.Hash]Message) []string {
	var warns []string
	idx := map[string]int{}
	for i, c := range pc.Commits {
		idx[c.SHA] = i
	}
	find := func(sha string) int {
		if i, ok := idx[sha]; ok {
			return i
		}
		if len(sha) >= 7 {
			for i, c := range pc.Commits {
				if strings.HasPrefix(c.SHA, sha) {
					return i
				}
			}
		}
		return -1
	}
	// bySubject finds the newest commit older than the revert at i whose
	// subject is exactly subject: GitHub's revert button writes
	// `Revert "<subject>"` with "Reverts owner/repo#12" and no SHA.
	bySubject := func(i int, subject string) int {
		for j := i + 1; j < len(pc.Commits); j++ {
			if msgs[plumbing.NewHash(pc.Commits[j].SHA)].Subject == subject {
				return j
			}
		}
		return -1
	}
	cancelled := make([]bool, len(pc.Commits))
	// Newest first: a revert of a revert cancels that revert, and the
	// original change stands.
	for i, c := range pc.Commits {
		if cancelled[i] {
			continue
		}
		m := msgs[plumbing.NewHash(c.SHA)]
		if m.Revert == nil {
			continue
		}
		// A named SHA is the reverted commit (outside the range: a lone
		// revert); without one, the quoted subject names it.
		j := -1
		switch {
		case m.Revert.SHA != "":
			j = find(m.Revert.SHA)
		case m.Revert.Subject != "":
			j = bySubject(i, m.Revert.Subject)
		}
		if j < 0 || j == i || cancelled[j] {
			continue
		}
		cancelled[i], cancelled[j] = true, true
		pc.Commits[i].Note = "reverts " + short(plumbing.NewHash(pc.Commits[j].SHA)) + " in the same range: both cancel out"
		pc.Commits[j].Note = "reverted by " + short(plumbing.NewHash(c.SHA)) + " in the same range: both cancel out"
		pc.Commits[i].Bump = None
		pc.Commits[j].Bump = None
	}
	best := -1
	for i, c := range pc.Commits {
		if cancelled[i] {
			continue
		}
		if best < 0 || c.Bump > pc.Commits[best].Bump {
			best = i
		}
	}
	// Release-As overrides: the highest one in range wins.
	relAs, relAt := None, -1
	for i, c := range pc.Commits {
		if cancelled[i] {
			continue
		}
		m := msgs[plumbing.NewHash(c.SHA)]
		v, ok := m.Footer("Release-As")
		if !ok {
			continue
		}
		b, err := ParseBump(v)
		if err != nil || b == None {
			warns = append(warns, fmt.Sprintf("commit %s: ignoring Release-As: %q (want major, minor or patch)", short(plumbing.NewHash(c.SHA)), truncate(v, 40)))
			continue
		}
		if relAt < 0 || b > relAs {
			relAs, relAt = b, i
		}
	}
	switch {
	case relAt >= 0:
		pc.Bump = relAs
		c := pc.Commits[relAt]
		pc.Reason = fmt.Sprintf("Release-As: %s in %s %q", relAs, short(plumbing.NewHash(c.SHA)), c.Subject)
	case best >= 0 && pc.Commits[best].Bump != None:
		c := pc.Commits[best]
		pc.Bump = c.Bump
		pc.Reason = fmt.Sprintf("%s → %s", c.Subject, c.Bump)
		if c.Breaking {
			pc.Reason = fmt.Sprintf("%s (breaking) → %s", c.Subject, c.Bump)
		}
	default:
		pc.Bump = None
		if len(pc.Commits) == 0 {
			pc.Reason = "no commit in range touched it (the change comes from outside the range, e.g. a merge)"
		} else {
			pc.Reason = fmt.Sprintf("no commit warrants a release (%s)", describeTypes(pc.Commits))
		}
	}
	return warns
}

func describeTypes(cs []Commit) string {
	counts := map[string]int{}
	for _, c := range cs {
		t := c.Type
		if t == "" {
			t = "non-conventional"
		}
		if c.Note != "" {
			t = "reverted"
		}
		counts[t]++
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[t], t))
	}
	return strings.Join(parts, ", ")
}

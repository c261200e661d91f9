package changes

import (
	"fmt"
	"strings"
)

// Bump is a semantic version increment. The zero value, None, means that no
// release is warranted. Bumps are ordered: None < Patch < Minor < Major.
type Bump int

// The bumps, lowest first.
const (
	None Bump = iota
	Patch
	Minor
	Major
)

// String returns "major", "minor", "patch" or "" for None.
func (b Bump) String() string {
	switch b {
	case Patch:
		return "patch"
	case Minor:
		return "minor"
	case Major:
		return "major"
	}
	return ""
}

// label is String with "none" for None, for human-readable reasons.
func (b Bump) label() string {
	if b == None {
		return "none"
	}
	return b.String()
}

// MarshalText encodes the bump as String does ("" for None).
func (b Bump) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText accepts what ParseBump accepts.
func (b *Bump) UnmarshalText(text []byte) error {
	v, err := ParseBump(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseBump parses "major", "minor", "patch", or "none"/"" (None),
// case-insensitively and ignoring surrounding space.
func ParseBump(s string) (Bump, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "major":
		return Major, nil
	case "minor":
		return Minor, nil
	case "patch":
		return Patch, nil
	case "none", "":
		return None, nil
	}
	return None, fmt.Errorf("invalid bump %q: want major, minor, patch or none", s)
}

// DefaultTypes is the Conventional Commits type → bump map of DESIGN.md §5:
// feat is minor, fix and perf are patch, every other type is none. Breaking
// changes are major whatever the type.
func DefaultTypes() map[string]Bump {
	return map[string]Bump{"feat": Minor, "fix": Patch, "perf": Patch}
}

// Rules turn a parsed commit message into a bump.
type Rules struct {
	// Types maps a lower-case Conventional Commits type to its bump. Types not
	// in the map bump None. Nil means DefaultTypes().
	Types map[string]Bump
	// NonConventional is the bump of a message that is not a Conventional
	// Commit ("Update README"): Patch (the default in DefaultOptions) or None.
	NonConventional Bump
}

// BumpOf returns the bump that m warrants under the rules, without
// Release-As (which overrides a whole project, see Detect) and without revert
// cancellation (which needs the other commits of the range):
//   - breaking ("!" or a BREAKING CHANGE / BREAKING-CHANGE footer): Major;
//   - a revert: Patch;
//   - a conventional type: Types[type], None when absent;
//   - anything else: NonConventional.
func (r Rules) BumpOf(m Message) Bump {
	if m.Breaking {
		return Major
	}
	if m.Revert != nil {
		return Patch
	}
	if !m.Conventional {
		return r.NonConventional
	}
	types := r.Types
	if types == nil {
		types = DefaultTypes()
	}
	return types[m.Type]
}

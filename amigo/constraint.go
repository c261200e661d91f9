package amigo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PEP 440 version specifiers, the subset that applies to X.Y.Z releases:
// the grammar of the versions query and path parameters and of the version
// filter of the invocation list. The client checks constraints with it
// before sending them, and the emulator (amigotest) parses and matches with
// it, so both refuse the same strings.

// VersionConstraint is a parsed PEP 440 specifier set: comma-joined clauses
// (==, !=, >=, <=, >, <, ~=, ===, and == / != with a .* wildcard) that must
// all match. The zero value has no clauses and matches every version.
type VersionConstraint struct {
	spec    string
	clauses []clause
}

type clause struct {
	op       string
	release  []int
	wildcard bool   // "==1.2.*" / "!=1.*"
	raw      string // for ===
}

// ConstraintError is a version constraint ParseConstraint refused.
type ConstraintError struct {
	Spec   string // the constraint as given
	Reason string // what is wrong with it, e.g. `clause "1.0" has no operator (...)`
}

// Error renders `version constraint "SPEC": REASON`.
func (e *ConstraintError) Error() string {
	return fmt.Sprintf("version constraint %q: %s", e.Spec, e.Reason)
}

// constraintOps are the operators, longest first so that "===" is not read
// as "==" followed by "=".
var constraintOps = []string{"===", "==", "!=", "~=", ">=", "<=", ">", "<"}

// ParseConstraint parses a PEP 440 specifier set such as "==1.2.3",
// ">=1.0,<2", "~=1.4" or "==1.*". Spaces around clauses and operators are
// allowed, and a release may start with v. Blank clauses are skipped, as
// the server's parser (packaging's SpecifierSet) skips them: "" and ","
// parse to a constraint without clauses, which matches every version
// (IsEmpty), and ">=1.0," is ">=1.0". The error is a *ConstraintError.
func ParseConstraint(spec string) (VersionConstraint, error) {
	bad := func(format string, args ...any) (VersionConstraint, error) {
		return VersionConstraint{}, &ConstraintError{Spec: spec, Reason: fmt.Sprintf(format, args...)}
	}
	out := VersionConstraint{spec: spec}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var cl clause
		for _, op := range constraintOps {
			if strings.HasPrefix(part, op) {
				cl.op = op
				break
			}
		}
		if cl.op == "" {
			return bad("clause %q has no operator (use ==, !=, >=, <=, >, <, ~= or ===)", part)
		}
		ver := strings.TrimSpace(part[len(cl.op):])
		cl.raw = ver
		if cl.op == "===" {
			out.clauses = append(out.clauses, cl)
			continue
		}
		if strings.HasSuffix(ver, ".*") {
			if cl.op != "==" && cl.op != "!=" {
				return bad("a .* wildcard is allowed only with == and !=")
			}
			cl.wildcard = true
			ver = strings.TrimSuffix(ver, ".*")
		}
		ver = strings.TrimPrefix(strings.TrimPrefix(ver, "v"), "V")
		if ver == "" {
			return bad("clause %q has no version", part)
		}
		for _, n := range strings.Split(ver, ".") {
			x, err := strconv.Atoi(n)
			if err != nil || x < 0 {
				return bad("%q is not a release version like 1.2.3", ver)
			}
			cl.release = append(cl.release, x)
		}
		if cl.op == "~=" && len(cl.release) < 2 {
			return bad("~= needs at least two components (~=1.2)")
		}
		out.clauses = append(out.clauses, cl)
	}
	return out, nil
}

// IsEmpty reports whether c has no clause: it matches every version.
func (c VersionConstraint) IsEmpty() bool { return len(c.clauses) == 0 }

// String returns the constraint as it was given to ParseConstraint.
func (c VersionConstraint) String() string { return c.spec }

// Match reports whether v satisfies every clause of c.
func (c VersionConstraint) Match(v Version) bool {
	for _, cl := range c.clauses {
		if !cl.match(v) {
			return false
		}
	}
	return true
}

func (cl clause) match(v Version) bool {
	r := []int{v.Major, v.Minor, v.Patch}
	switch cl.op {
	case "===":
		return cl.raw == v.String()
	case "==":
		if cl.wildcard {
			return prefixMatch(r, cl.release)
		}
		return cmpRelease(r, cl.release) == 0
	case "!=":
		if cl.wildcard {
			return !prefixMatch(r, cl.release)
		}
		return cmpRelease(r, cl.release) != 0
	case ">=":
		return cmpRelease(r, cl.release) >= 0
	case "<=":
		return cmpRelease(r, cl.release) <= 0
	case ">":
		return cmpRelease(r, cl.release) > 0
	case "<":
		return cmpRelease(r, cl.release) < 0
	case "~=":
		return cmpRelease(r, cl.release) >= 0 && prefixMatch(r, cl.release[:len(cl.release)-1])
	}
	return false
}

// cmpRelease compares release segments, padding the shorter with zeros.
func cmpRelease(a, b []int) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func prefixMatch(v, prefix []int) bool {
	for i, p := range prefix {
		x := 0
		if i < len(v) {
			x = v[i]
		}
		if x != p {
			return false
		}
	}
	return true
}

// checkConstraint refuses what ParseConstraint refuses, naming field.
func checkConstraint(op Op, field, spec string) error {
	_, err := ParseConstraint(spec)
	if err == nil {
		return nil
	}
	reason := err.Error()
	if ce := (*ConstraintError)(nil); errors.As(err, &ce) {
		reason = ce.Reason
	}
	return invalid(op, field, spec, `must be a PEP 440 constraint such as "==1.2.3" or ">=1.0,<2": `+reason)
}

package amigo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestParseConstraint(t *testing.T) {
	match := []struct {
		spec, v string
		want    bool
	}{
		{"==1.2.3", "1.2.3", true}, {"==1.2", "1.2.0", true}, {"==1.2.*", "1.2.9", true}, {"==1.2.*", "1.3.0", false},
		{"!=1.2.3", "1.2.3", false}, {"!=1.*", "2.0.0", true}, {">=1.0,<2", "1.9.9", true}, {">=1.0,<2", "2.0.0", false},
		{"<=1.0", "1.0.0", true}, {">1.0", "1.0.0", false}, {"<1.0.1", "1.0.0", true},
		{"~=1.4.2", "1.4.9", true}, {"~=1.4.2", "1.5.0", false}, {"~=1.4", "1.9.0", true}, {"~=1.4", "2.0.0", false},
		{"===1.0.0", "1.0.0", true}, {"===1.0", "1.0.0", false}, {" >= 1.0 , < 1.1 ", "1.0.5", true}, {"==v1.2.3", "1.2.3", true},
		// PEP 440 pads releases with zeros: 1.0 and 1.0.0.0 are 1.0.0.
		{"==1.0.0.0", "1.0.0", true}, {"==1", "1.0.0", true}, {"<1.0.0.1", "1.0.0", true},
		// Blank clauses are skipped, as packaging's SpecifierSet skips them:
		// no clause at all matches every version.
		{"", "7.8.9", true}, {" ", "0.0.1", true}, {",", "1.0.0", true}, {">=1.0,", "0.9.0", false}, {",,==1.0", "1.0.0", true},
	}
	for _, c := range match {
		v, err := amigo.ParseVersion(c.v)
		if err != nil {
			t.Fatal(err)
		}
		con, err := amigo.ParseConstraint(c.spec)
		if err != nil {
			t.Errorf("ParseConstraint(%q): %v", c.spec, err)
			continue
		}
		if got := con.Match(v); got != c.want {
			t.Errorf("ParseConstraint(%q).Match(%s) = %v, want %v", c.spec, c.v, got, c.want)
		}
		if con.String() != c.spec {
			t.Errorf("String() = %q, want %q", con.String(), c.spec)
		}
	}
	for _, spec := range []string{"", " ", ",", " , "} {
		if c, err := amigo.ParseConstraint(spec); err != nil || !c.IsEmpty() {
			t.Errorf("ParseConstraint(%q) = %v, %v; want an empty constraint", spec, c, err)
		}
	}
	if c, _ := amigo.ParseConstraint(">=1.0,"); c.IsEmpty() {
		t.Errorf(`ParseConstraint(">=1.0,") is empty`)
	}
	for _, c := range []struct{ spec, reason string }{
		{"1.0", `clause "1.0" has no operator`}, {"garbage", `clause "garbage" has no operator`},
		{"==", `clause "==" has no version`}, {">=x", `"x" is not a release version`},
		{"==1.0.0-rc1", "not a release version"}, {"~=1", "two components"}, {">=1.*", ".* wildcard"},
		{">=1.0,1.1", `clause "1.1" has no operator`},
	} {
		_, err := amigo.ParseConstraint(c.spec)
		var ce *amigo.ConstraintError
		if !errors.As(err, &ce) || ce.Spec != c.spec || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseConstraint(%q) = %v, want a *ConstraintError containing %q", c.spec, err, c.reason)
		}
	}
}

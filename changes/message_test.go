package changes

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want Message
	}{
		{"feat with scope", "feat(api): add units",
			Message{Subject: "feat(api): add units", Type: "feat", Scope: "api", Description: "add units", Conventional: true}},
		{"type is case-insensitive", "FEAT: shout",
			Message{Subject: "FEAT: shout", Type: "feat", Description: "shout", Conventional: true}},
		{"bang is breaking", "refactor(core)!: drop v0 inputs",
			Message{Subject: "refactor(core)!: drop v0 inputs", Type: "refactor", Scope: "core", Breaking: true, Description: "drop v0 inputs", Conventional: true}},
		{"BREAKING CHANGE footer", "feat: y\n\nBREAKING CHANGE: inputs renamed",
			Message{Subject: "feat: y", Type: "feat", Description: "y", Conventional: true, Breaking: true,
				Footers: []Footer{{"BREAKING CHANGE", "inputs renamed"}}}},
		{"BREAKING-CHANGE footer", "fix: y\n\nBREAKING-CHANGE: z",
			Message{Subject: "fix: y", Type: "fix", Description: "y", Conventional: true, Breaking: true,
				Footers: []Footer{{"BREAKING-CHANGE", "z"}}}},
		{"lower-case breaking change is not a footer", "fix: y\n\nbreaking change: z",
			Message{Subject: "fix: y", Type: "fix", Description: "y", Conventional: true, Body: "breaking change: z"}},
		{"body, footers with both separators, multi-line value, trailers",
			"fix(db): close conns\n\nThe pool leaked.\n\nSecond paragraph.\n\nRefs #123\nReviewed-by: Ann\n  and Bob\nSigned-off-by: A <a@x>\n",
			Message{Subject: "fix(db): close conns", Type: "fix", Scope: "db", Description: "close conns", Conventional: true,
				Body:    "The pool leaked.\n\nSecond paragraph.",
				Footers: []Footer{{"Refs", "123"}, {"Reviewed-by", "Ann\n  and Bob"}, {"Signed-off-by", "A <a@x>"}}}},
		{"a body paragraph that looks like a footer is body when followed by prose",
			"docs: x\n\nNote: this is prose.\n\nMore prose here.",
			Message{Subject: "docs: x", Type: "docs", Description: "x", Conventional: true, Body: "Note: this is prose.\n\nMore prose here."}},
		{"footer needs the blank line after the header", "fix: x\nRefs: 1",
			Message{Subject: "fix: x", Type: "fix", Description: "x", Conventional: true, Body: "Refs: 1"}},
		{"CRLF", "feat: a\r\n\r\nbody\r\n\r\nRelease-As: major\r\n",
			Message{Subject: "feat: a", Type: "feat", Description: "a", Conventional: true, Body: "body",
				Footers: []Footer{{"Release-As", "major"}}}},
		{"git revert", "Revert \"feat: add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
			Message{Subject: "Revert \"feat: add x\"", Description: "Revert \"feat: add x\"",
				Body:   "This reverts commit 0123456789abcdef0123456789abcdef01234567.",
				Revert: &Revert{SHA: "0123456789abcdef0123456789abcdef01234567", Subject: "feat: add x"}}},
		{"conventional revert with Refs", "revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868",
			Message{Subject: "revert: let us never again speak of the noodle incident", Type: "revert",
				Description: "let us never again speak of the noodle incident", Conventional: true,
				Footers: []Footer{{"Refs", "676104e, a215868"}},
				Revert:  &Revert{SHA: "676104e", Subject: "let us never again speak of the noodle incident"}}},
		{"non-conventional", "Update README",
			Message{Subject: "Update README", Description: "Update README"}},
		{"no space after colon", "feat:x", Message{Subject: "feat:x", Description: "feat:x"}},
		{"empty scope", "feat(): x", Message{Subject: "feat(): x", Description: "feat(): x"}},
		{"empty description", "feat: ", Message{Subject: "feat:", Description: "feat:"}},
		{"type starting with a digit", "1feat: x", Message{Subject: "1feat: x", Description: "1feat: x"}},
		{"leading blank lines", "\n\n  fix: x", Message{Subject: "fix: x", Type: "fix", Description: "x", Conventional: true}},
		{"empty", "", Message{}},
		{"invalid UTF-8", "fix: caf\xe9\n\nb\xffody",
			Message{Subject: "fix: caf\uFFFD", Type: "fix", Description: "caf\uFFFD", Conventional: true, Body: "b\uFFFDody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseMessage(tt.msg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMessage(%q) mismatch (-want +got):\n%s", tt.msg, diff)
			}
		})
	}
}

func TestParseMessage_huge(t *testing.T) {
	body := strings.Repeat("a line of a very long commit body that goes on\n", 100_000) // ~4.7 MB
	msg := "feat(big): huge\n\n" + body + "\nBREAKING CHANGE: yes\n"
	m := ParseMessage(msg)
	if !m.Conventional || m.Type != "feat" || !m.Breaking || len(m.Body) < 4_000_000 {
		t.Errorf("ParseMessage(huge) = type %q breaking %v body %d bytes", m.Type, m.Breaking, len(m.Body))
	}
	// One single 3 MB line is a subject, not a hang.
	m = ParseMessage("fix: " + strings.Repeat("x", 3<<20))
	if !m.Conventional || len(m.Description) != 3<<20 {
		t.Errorf("ParseMessage(3 MB subject): conventional %v, %d bytes", m.Conventional, len(m.Description))
	}
}

func TestRules_BumpOf(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		rules Rules
		want  Bump
	}{
		{"fix only", "fix(api): handle 409", Rules{}, Patch},
		{"perf", "perf: faster", Rules{}, Patch},
		{"feat", "feat: y", Rules{}, Minor},
		{"bang is major", "feat!: drop v0 inputs", Rules{}, Major},
		{"footer is major", "chore: y\n\nBREAKING CHANGE: z", Rules{}, Major},
		{"chore is none", "chore: deps", Rules{}, None},
		{"unknown type is none", "wip: stuff", Rules{}, None},
		{"custom map", "docs: readme", Rules{Types: map[string]Bump{"docs": Patch}}, Patch},
		{"non-conventional default patch", "Update README", Rules{NonConventional: Patch}, Patch},
		{"non-conventional none", "Update README", Rules{NonConventional: None}, None},
		{"lone revert is a patch", "Revert \"feat: x\"\n\nThis reverts commit 0123456.", Rules{NonConventional: None}, Patch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rules.BumpOf(ParseMessage(tt.msg)); got != tt.want {
				t.Errorf("BumpOf(%q) = %v, want %v", tt.msg, got, tt.want)
			}
		})
	}
}

func TestParseBump(t *testing.T) {
	for in, want := range map[string]Bump{"MAJOR": Major, " minor ": Minor, "patch": Patch, "none": None, "": None} {
		if got, err := ParseBump(in); err != nil || got != want {
			t.Errorf("ParseBump(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseBump("2.0.0"); err == nil {
		t.Error("ParseBump(2.0.0) succeeded")
	}
}

var typeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"feat(api): add units", "fix!: x\n\nBREAKING CHANGE: y", "Revert \"x\"\n\nThis reverts commit abcdef1.",
		"revert: x\n\nRefs: 1234567", "chore: a\n\nb\n\nSigned-off-by: x <y>\nRefs #1\n", "\xff\xfe", "",
		"feat(: x", "a(b)!: ", "x\r\n\r\nToken: v\r\n  cont", "BREAKING CHANGE: at the top",
		"fix: x\n\n\n\nRelease-As: major\n\n\nRefs: 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		m := ParseMessage(msg)
		for _, s := range []string{m.Subject, m.Type, m.Scope, m.Description, m.Body} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in result for %q", msg)
			}
		}
		if strings.Contains(m.Subject, "\n") {
			t.Fatalf("subject has a newline: %q", m.Subject)
		}
		if m.Conventional {
			if !typeRE.MatchString(m.Type) || m.Description == "" {
				t.Fatalf("conventional with type %q description %q", m.Type, m.Description)
			}
		} else if m.Type != "" || m.Scope != "" {
			t.Fatalf("non-conventional with type %q scope %q", m.Type, m.Scope)
		}
		for _, ft := range m.Footers {
			if ft.Token == "" {
				t.Fatalf("empty footer token in %q", msg)
			}
		}
		_ = Rules{}.BumpOf(m)
	})
}

package changes_test

import (
	"testing"

	"github.com/amigo-release/amigo-release/changes"
)

func TestShortSHA_andDisplaySHA(t *testing.T) {
	const full = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct{ in, short, display string }{
		{full, "0123456789ab", "0123456"},
		{"ABCDEF0123456789", "ABCDEF012345", "ABCDEF0"},
		{"abc12", "abc12", "abc12"},
		{"", "", ""},
		{"not-a-hash-at-all", "not-a-hash-at-all", "not-a-hash-at-all"},
		{"(unknown commit)", "(unknown commit)", "(unknown commit)"},
	} {
		if got := changes.ShortSHA(c.in); got != c.short {
			t.Errorf("ShortSHA(%q) = %q, want %q", c.in, got, c.short)
		}
		if got := changes.DisplaySHA(c.in); got != c.display {
			t.Errorf("DisplaySHA(%q) = %q, want %q", c.in, got, c.display)
		}
	}
}

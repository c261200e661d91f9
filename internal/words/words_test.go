package words_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/amigo-release/amigo-release/internal/words"
)

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 stages"}, {1, "1 stage"}, {2, "2 stages"}} {
		if got := words.Plural(c.n, "stage", "stages"); got != c.want {
			t.Errorf("Plural(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		max  int
		want string
	}{
		{"", 5, ""},
		{"abc", 5, "abc"},
		{"abcde", 5, "abcde"},
		{"abcdef", 5, "abcd…"},
		{"héllo wörld", 6, "héllo…"},
		{"ééééé", 5, "ééééé"},
		{"éééééé", 5, "éééé…"},
		{"abc", 0, "…"},
		{"a", 0, "a"},
	} {
		if got := words.Clip(c.s, c.max); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
	}
	big := strings.Repeat("日本", 1<<20)
	got := words.Clip(big, 100)
	if n := utf8.RuneCountInString(got); n != 100 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("Clip of 2M runes to 100: %d runes, valid %v", n, utf8.ValidString(got))
	}
}

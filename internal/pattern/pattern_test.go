package pattern

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestWordIsRustsPerlWord pins \w to the Rust regex crate's definition, one
// character of each part of it, and the characters Python's re and Go's
// regexp would judge differently.
func TestWordIsRustsPerlWord(t *testing.T) {
	for _, c := range []struct {
		r    rune
		want bool
		why  string
	}{
		{'a', true, "ASCII letter"},
		{'_', true, "underscore (Pc)"},
		{'7', true, "ASCII digit"},
		{'ü', true, "precomposed letter (Ll)"},
		{'\u0308', true, "combining diaeresis (Mn): Rust yes, Python's re no"},
		{'\u0903', true, "Devanagari visarga (Mc)"},
		{'٣', true, "Arabic-Indic digit three (Nd)"},
		{'Ⅻ', true, "Roman numeral twelve (Nl, Alphabetic)"},
		{'Ⓐ', true, "circled A (So, Other_Alphabetic)"},
		{'‿', true, "undertie (Pc): Rust yes, Python's re no"},
		{'\u200d', true, "zero width joiner (Join_Control)"},
		{'²', false, "superscript two (No): Python's re yes, Rust no"},
		{'½', false, "vulgar fraction (No)"},
		{'-', false, "hyphen"},
		{' ', false, "space"},
		{'€', false, "currency sign"},
	} {
		if got := Word(c.r); got != c.want {
			t.Errorf("Word(%U %q) = %v, want %v: %s", c.r, c.r, got, c.want, c.why)
		}
	}
}

// TestTranslatedClassesMatchThePredicates checks every code point: the
// classes Translate writes match exactly what Word, Digit and Space say.
func TestTranslatedClassesMatchThePredicates(t *testing.T) {
	for _, c := range []struct {
		pat  string
		pred func(rune) bool
	}{
		{`^\w$`, Word}, {`^[\w]$`, Word}, {`^\d$`, Digit}, {`^\s$`, Space},
		{`^\W$`, func(r rune) bool { return !Word(r) }},
	} {
		re := MustCompile(c.pat)
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if !utf8.ValidRune(r) {
				continue
			}
			if got, want := re.MatchString(string(r)), c.pred(r); got != want {
				t.Fatalf("%s on %U: regexp %v, predicate %v", c.pat, r, got, want)
			}
		}
	}
}

func TestContractPatterns(t *testing.T) {
	cases := []struct {
		pat   string
		match []string
		not   []string
	}{
		{`^[\w\s]+$`, []string{"team", "ünï", "u\u0308ber", "two words", "東京", "a\u3000b", "x_y"}, []string{"a-b", "a.b", "", "emoji😀", "x²"}},
		{`^[-\w\d_/]+$`, []string{"tools/weather", "tools/wéather-2", "a_b"}, []string{"tools/../x", "a b", "a.b"}},
		// Unanchored, as pydantic searches: any upper-case letter or
		// underscore anywhere will do.
		{`[A-Z_]+`, []string{"API_KEY", "X-Y", "my_var", "aB"}, []string{"abc", "123", "x-y", ""}},
	}
	for _, c := range cases {
		re := MustCompile(c.pat)
		for _, s := range c.match {
			if !re.MatchString(s) {
				t.Errorf("%s does not match %q", c.pat, s)
			}
		}
		for _, s := range c.not {
			if re.MatchString(s) {
				t.Errorf("%s matches %q", c.pat, s)
			}
		}
	}
}

func TestTranslateKeepsTheRest(t *testing.T) {
	for in, want := range map[string]string{
		`^[a-f0-9]{24}$`:     `^[a-f0-9]{24}$`,
		`^[a-z_][a-z0-9_]+$`: `^[a-z_][a-z0-9_]+$`,
		`a\.b\\`:             `a\.b\\`,
		`[]\w]`:              `[]` + wordClass + `]`,
		`[^]x]\d`:            `[^]x][` + digitClass + `]`,
	} {
		got, err := Translate(in)
		if err != nil || got != want {
			t.Errorf("Translate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Translate(`[\W]`); err == nil || !strings.Contains(err.Error(), "no Unicode rewrite") {
		t.Errorf("Translate([\\W]) error = %v", err)
	}
}

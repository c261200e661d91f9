package egress

import (
	"strings"
	"unicode"
)

const (
	// zwsp is the zero-width space put in front of a leading "::" and
	// between two '#': the runners do not trim it, so the line is printed
	// instead of run.
	zwsp = "\u200b"
)

// Visible returns s as valid UTF-8 with line endings normalised to \n and
// every character that could hide or rewrite text made visible or
// harmless: C0 controls other than \n and \t (the ESC of ANSI sequences,
// NUL, BEL, \v, \f, …) become their Unicode control pictures (␛, ␀, …),
// DEL becomes ␡, C1 controls (the 8-bit CSI among them) become U+FFFD,
// NEL and the Unicode line and paragraph separators become spaces, and the
// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069: "Trojan Source") become U+FFFD. Text that is plain
// printable ASCII is returned as it is, without copying.
func Visible(s string) string {
	if plainASCII(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(visibleRune, s)
}

func visibleRune(r rune) rune {
	switch {
	case r == '\n' || r == '\t':
		return r
	case r < 0x20:
		return 0x2400 + r
	case r == 0x7f:
		return 0x2421
	case r == 0x85, r == '\u2028', r == '\u2029':
		return ' '
	case r >= 0x80 && r < 0xa0:
		return '\uFFFD'
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return '\uFFFD'
	}
	return r
}

// visibleData is Visible for data read by programs: line endings stay as
// they are (a runner's files end lines with \r\n on Windows).
func visibleData(s string) string {
	if plainASCII(strings.ReplaceAll(s, "\r", "")) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\r' {
			return r
		}
		return visibleRune(r)
	}, s)
}

// plainASCII reports whether s holds only printable ASCII, \n and \t.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// DefuseLine makes one line inert as a workflow command on both runners:
// a zero-width space goes before a "::" that starts the line after leading
// whitespace (GitHub Actions runs such a line), and after every "##" that
// starts "##[" or "##vso[" (in any case; Azure Pipelines runs those
// anywhere in a line, and GitHub "##["), so "###[" is defused too while
// a "##" elsewhere (a markdown heading, a shell's ${x##*/}) stays as it
// is. It does not look for line breaks: split first (carriage returns end
// lines too; Visible turns them into newlines).
func DefuseLine(line string) string {
	line = defuseHashes(line)
	if rest := strings.TrimLeftFunc(line, unicode.IsSpace); strings.HasPrefix(rest, "::") {
		line = line[:len(line)-len(rest)] + zwsp + rest
	}
	return line
}

// defuseHashes puts a zero-width space after every "##" followed by "[" or
// by "vso[" in any case.
func defuseHashes(s string) string {
	return zwspAfterHash(s, func(i int) bool {
		if i == 0 || s[i-1] != '#' {
			return false
		}
		rest := s[i+1:]
		return strings.HasPrefix(rest, "[") || len(rest) >= 4 && strings.EqualFold(rest[:3], "vso") && rest[3] == '['
	})
}

// BreakHashes puts a zero-width space between every two adjacent '#', so
// no "##" (hence no "##vso[" or "##[") survives, even in "###[".
func BreakHashes(s string) string {
	return zwspAfterHash(s, func(i int) bool { return i+1 < len(s) && s[i+1] == '#' })
}

// zwspAfterHash copies s with a zero-width space after each '#' for whose
// index after is true. Only a "##" needs one, so s without "##" is
// returned as it is.
func zwspAfterHash(s string, after func(i int) bool) string {
	if !strings.Contains(s, "##") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '#' && after(i) {
			b.WriteString(zwsp)
		}
	}
	return b.String()
}

// logLines makes text safe for a log, line by line: every line visible
// (Visible) and defused (DefuseLine). Carriage returns end lines.
func logLines(text string) string {
	text = Visible(text)
	if !strings.Contains(text, "##") && !strings.Contains(text, "::") {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = DefuseLine(l)
	}
	return strings.Join(lines, "\n")
}

package report

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/internal/words"
)

const (
	zwj  = "\u200d" // zero-width joiner: breaks @mentions
	zwsp = "\u200b" // zero-width space: breaks workflow commands in plain text
)

// sanitize returns s as valid UTF-8 with line endings normalised to \n and
// control characters and bidirectional overrides made visible: the exit's
// egress.Visible, so that the report and the exit agree on what is shown.
func sanitize(s string) string { return egress.Visible(s) }

// fold replaces newlines and tabs (and the spaces around them) by one space.
func fold(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\t' }), " ")
}

// entity is the HTML entity of &, <, > or ".
func entity(r rune) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '"':
		return "&quot;"
	}
	return string(r)
}

// writeAt writes an '@' followed by rest, breaking the mention it would
// start with a zero-width joiner.
func writeAt(b *strings.Builder, rest string) {
	b.WriteByte('@')
	if next, _ := utf8.DecodeRuneInString(rest); isMentionStart(next) {
		b.WriteString(zwj)
	}
}

// isMentionStart reports whether r can start a GitHub user or team name.
func isMentionStart(r rune) bool {
	return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// md escapes untrusted text for a markdown context (table cell, paragraph,
// list item): truncated to max runes, newlines folded, HTML as entities,
// markdown punctuation and | backslash-escaped, @mentions broken.
func md(s string, max int) string {
	s = fold(visibleClip(s, max))
	var b strings.Builder
	b.Grow(len(s) + 16)
	prev := rune(-1)
	for i, r := range s {
		switch r {
		case '&', '<', '>':
			b.WriteString(entity(r))
		case '|', '\\', '`', '*', '_', '[', ']', '~', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '#', '-', '+', '=':
			if prev == -1 {
				b.WriteByte('\\') // would start a heading or a list
			}
			b.WriteRune(r)
		case '@':
			writeAt(&b, s[i+1:])
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// html escapes untrusted one-line text for an HTML context (<summary>,
// <code>): truncated, folded, entities, @mentions and commands broken.
func html(s string, max int) string {
	return htmlLines(fold(visibleClip(s, max)))
}

// pre renders untrusted multi-line text as a <pre> block: every line
// entity-escaped, @mentions broken, lines that would start a workflow
// command defused. The content can never close the block.
func pre(s string) string {
	s = strings.Trim(sanitize(s), "\n")
	return "<pre>" + htmlLines(s) + "</pre>"
}

// htmlLines escapes each line of s for HTML and defuses workflow commands.
func htmlLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		var b strings.Builder
		b.Grow(len(line) + 8)
		for j, r := range line {
			switch r {
			case '&', '<', '>', '"':
				b.WriteString(entity(r))
			case '@':
				writeAt(&b, line[j+1:])
			default:
				b.WriteRune(r)
			}
		}
		line = b.String()
		// "##vso[" (Azure) and "##[" (legacy runner syntax) are matched
		// anywhere in a line; &#91; renders as "[" but is not one.
		line = strings.ReplaceAll(line, "##vso[", "##vso&#91;")
		line = strings.ReplaceAll(line, "##[", "##&#91;")
		// "::" after leading whitespace starts a GitHub workflow command.
		if rest := strings.TrimLeftFunc(line, unicode.IsSpace); strings.HasPrefix(rest, "::") {
			line = line[:len(line)-len(rest)] + "&#58;" + rest[1:]
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

// plain makes untrusted text one safe terminal line: truncated, folded,
// control characters visible. Commands are defused per output line by
// defuseText.
func plain(s string, max int) string {
	return fold(visibleClip(s, max))
}

// visibleClip sanitizes s and truncates it to max runes; it looks at no more than
// the first 2*max+1 runes of s, so a megabyte of input costs nothing.
func visibleClip(s string, max int) string {
	return words.Clip(sanitize(words.Clip(s, 2*max+1)), max)
}

// defuseText makes every line of a plain-text rendering inert as a workflow
// command: a zero-width space goes before a leading "::" and inside every
// "##vso[" and "##[".
func defuseText(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		lines[i] = egress.DefuseLine(line)
	}
	return strings.Join(lines, "\n")
}

var safeCode = regexp.MustCompile(`^[A-Za-z0-9_.\-/+]{1,100}$`)

// code renders an identifier (tool name, stage, version, sha) as a markdown
// code span when it is made of safe characters, else as escaped text.
func code(s string) string {
	if safeCode.MatchString(s) {
		return "`" + s + "`"
	}
	return md(s, 100)
}

// htmlCode is code for HTML contexts.
func htmlCode(s string) string {
	return "<code>" + html(s, 100) + "</code>"
}

// RenderedForms returns the ways s can appear in a rendered body: as it
// is, escaped as markdown text (at the start of a text and inside one),
// and escaped for HTML blocks (<summary>, <pre>). Platforms redact every
// form of a masked secret from the bodies they post, because escaping
// would otherwise hide a secret such as "sk_live_x" ("sk\_live\_x") from
// a plain search.
func RenderedForms(s string) []string {
	if s == "" {
		return nil
	}
	forms := []string{s}
	add := func(f string) {
		for _, g := range forms {
			if g == f {
				return
			}
		}
		forms = append(forms, f)
	}
	n := utf8.RuneCountInString(s) + 1
	add(md(s, n))
	add(strings.TrimPrefix(md("x"+s, n+1), "x"))
	add(htmlLines(s))
	return forms
}

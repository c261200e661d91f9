package egress

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MinSecretLength is the shortest secret that is masked. A shorter value
// would turn every "a" or "us" in the output into "***" and protect
// nothing; the CLI warns about such a value by its variable's name.
const MinSecretLength = 4

// secretSet is what one Exit masks: the registered values and every form
// in which they can appear.
type secretSet struct {
	// parts are the registered values and, for a multi-line value, each
	// of its lines (trimmed), in registration order.
	parts []string
	// forms are every encoding of every part, longest first.
	forms []string
	// rendered are the markdown renderings of every part (Options.Rendered),
	// longest first; Markdown documents mask them together with forms.
	rendered []string
	longest  int
}

// partsOf returns the parts of a secret to mask: the value (trimmed) and,
// when it spans lines, each line (trimmed), leaving out those shorter than
// MinSecretLength.
func partsOf(v string) []string {
	v = strings.TrimSpace(v)
	var parts []string
	if len(v) >= MinSecretLength {
		parts = append(parts, v)
	}
	if strings.ContainsAny(v, "\r\n") {
		for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if l = strings.TrimSpace(l); len(l) >= MinSecretLength && !slices.Contains(parts, l) {
				parts = append(parts, l)
			}
		}
	}
	return parts
}

// linesOf returns the parts a runner is told about: each line of a
// multi-line value (a runner masks line by line, and a command cannot
// carry a line break), or the value itself.
func linesOf(v string) []string {
	parts := partsOf(v)
	if v = strings.TrimSpace(v); strings.ContainsAny(v, "\r\n") && len(parts) > 0 && parts[0] == v {
		return parts[1:]
	}
	return parts
}

// formsOf returns the ways part can appear in text that left the process
// by way of an encoder: as it is, JSON-escaped (with and without the HTML
// escapes encoding/json adds by default), Go-quoted (%q), URL-encoded
// (query and path escaping, upper- and lower-case hex), and base64
// (standard and URL alphabets, at each of the three alignments the part
// can have inside a longer encoded text: only the characters that encode
// bytes of the part alone, so that the form is found whatever surrounds
// it). Forms shorter than MinSecretLength are left out.
func formsOf(part string) []string {
	forms := []string{part}
	add := func(f string) {
		if len(f) >= MinSecretLength && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	add(jsonEscaped(part, true))
	add(jsonEscaped(part, false))
	if q := strconv.Quote(part); len(q) >= 2 {
		add(q[1 : len(q)-1])
	}
	for _, u := range []string{url.QueryEscape(part), url.PathEscape(part)} {
		add(u)
		add(lowerHexEscapes(u))
	}
	for shift := 0; shift < 3; shift++ {
		buf := append(make([]byte, shift, shift+len(part)), part...)
		n := len(buf) / 3 * 3
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			s := enc.EncodeToString(buf[:n])
			if shift > 0 {
				if len(s) <= 4 {
					continue
				}
				s = s[4:] // the first quantum mixes in bytes before the part
			}
			add(s)
		}
	}
	return forms
}

// jsonEscaped is part as it appears inside a JSON string.
func jsonEscaped(part string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(part); err != nil {
		return part
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// lowerHexEscapes rewrites the %XX escapes of s in lower case, as some
// encoders write them.
func lowerHexEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerHex(b[i+1])
			b[i+2] = lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// add registers the parts of v (their forms, and their rendered forms
// through rendered when it is not nil) and returns the parts that were
// new.
func (s *secretSet) add(v string, rendered func(string) []string) []string {
	var added []string
	for _, p := range partsOf(v) {
		if slices.Contains(s.parts, p) {
			continue
		}
		s.parts = append(s.parts, p)
		added = append(added, p)
		for _, f := range formsOf(p) {
			if !slices.Contains(s.forms, f) {
				s.forms = append(s.forms, f)
				s.longest = max(s.longest, len(f))
			}
		}
		if rendered != nil {
			for _, f := range rendered(p) {
				if len(f) >= MinSecretLength && !slices.Contains(s.rendered, f) {
					s.rendered = append(s.rendered, f)
					s.longest = max(s.longest, len(f))
				}
			}
		}
	}
	if len(added) > 0 {
		longestFirst(s.forms)
		longestFirst(s.rendered)
	}
	return added
}

func longestFirst(list []string) {
	slices.SortStableFunc(list, func(a, b string) int { return len(b) - len(a) })
}

// has reports whether p is a registered part.
func (s *secretSet) has(p string) bool { return slices.Contains(s.parts, p) }

// mask replaces every form (and, with markdown, every rendered form) in
// text by repl, longest first, so a secret that contains another is
// replaced whole.
func (s *secretSet) mask(text, repl string, markdown bool) string {
	if len(s.forms) == 0 || text == "" {
		return text
	}
	text = replaceEach(text, s.forms, repl)
	if markdown {
		text = replaceEach(text, s.rendered, repl)
	}
	return text
}

func replaceEach(text string, forms []string, repl string) string {
	for _, f := range forms {
		if strings.Contains(text, f) {
			text = strings.ReplaceAll(text, f, repl)
		}
	}
	return text
}

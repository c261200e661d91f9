package changes

import (
	"strings"
	"unicode/utf8"
)

// Message is a commit message parsed as a Conventional Commit (1.0.0).
type Message struct {
	// Subject is the first line, trimmed.
	Subject string `json:"subject"`
	// Type is the lower-cased type ("feat") of a conventional header.
	Type string `json:"type,omitempty"`
	// Scope is the text between parentheses, as written.
	Scope string `json:"scope,omitempty"`
	// Breaking is set by "!" before the colon or by a BREAKING CHANGE /
	// BREAKING-CHANGE footer (footers count on any message).
	Breaking bool `json:"breaking,omitempty"`
	// Description is the header text after "type(scope)!: ", or the whole
	// subject when the message is not conventional.
	Description string `json:"description"`
	// Body is the text between the header and the footers, trimmed.
	Body string `json:"body,omitempty"`
	// Footers are the trailing "Token: value" / "Token #value" lines, in
	// order; a value may continue over several lines.
	Footers []Footer `json:"footers,omitempty"`
	// Conventional reports whether the header has the form
	// "type(scope)!: description". Other messages never fail; they get the
	// non-conventional default bump.
	Conventional bool `json:"conventional"`
	// Revert is set for `Revert "…"` messages (git revert) and for the
	// conventional "revert:" type.
	Revert *Revert `json:"revert,omitempty"`
}

// Footer is one footer (git trailer) of a message.
type Footer struct {
	Token string `json:"token"`
	Value string `json:"value"`
}

// Revert describes what a revert commit reverts.
type Revert struct {
	// SHA is the reverted commit from "This reverts commit <sha>" (or a
	// "Refs: <sha>" footer of a "revert:" commit); empty if not given.
	SHA string `json:"sha,omitempty"`
	// Subject is the reverted commit's subject when quoted in the header
	// (`Revert "feat: x (#12)"`, also with the " (#13)" a squash merge of
	// the revert adds), or the description of a "revert:" commit. Without
	// a SHA (GitHub's revert button writes none), the reverted commit is
	// the one in range with exactly this subject.
	Subject string `json:"subject,omitempty"`
}

// Footer returns the value of the first footer whose token equals token
// (case-insensitively), and whether there is one.
func (m Message) Footer(token string) (string, bool) {
	for _, f := range m.Footers {
		if strings.EqualFold(f.Token, token) {
			return f.Value, true
		}
	}
	return "", false
}

// ParseMessage parses a commit message. It accepts any input (huge, invalid
// UTF-8, empty) and never fails: a message that is not a Conventional Commit
// comes back with Conventional false and its first line as Description.
// Invalid UTF-8 is replaced by U+FFFD. Its cost is linear in the length.
func ParseMessage(msg string) Message {
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	msg = strings.TrimLeft(msg, " \t\n\r")
	header, rest, _ := strings.Cut(msg, "\n")
	header = strings.TrimSpace(header)
	m := Message{Subject: header, Description: header}
	if typ, scope, bang, desc, ok := parseHeader(header); ok {
		m.Conventional = true
		m.Type = strings.ToLower(typ)
		m.Scope = scope
		m.Breaking = bang
		m.Description = desc
	}

	lines := strings.Split(rest, "\n")
	start := footerStart(lines)
	m.Body = strings.TrimSpace(strings.Join(lines[:start], "\n"))
	m.Footers = parseFooters(lines[start:])
	for _, f := range m.Footers {
		if f.Token == "BREAKING CHANGE" || f.Token == "BREAKING-CHANGE" {
			m.Breaking = true
		}
	}
	m.Revert = parseRevert(m)
	return m
}

// parseHeader splits "type(scope)!: description". The type is a word of
// letters, digits, '_' and '-' starting with a letter; the scope may not
// contain parentheses or be empty; ": " is required; the description may
// not be empty.
func parseHeader(h string) (typ, scope string, bang bool, desc string, ok bool) {
	i := 0
	for i < len(h) && isTypeByte(h[i], i == 0) {
		i++
	}
	if i == 0 {
		return "", "", false, "", false
	}
	typ = h[:i]
	if i < len(h) && h[i] == '(' {
		end := strings.IndexAny(h[i+1:], "()")
		if end <= 0 || h[i+1+end] != ')' {
			return "", "", false, "", false
		}
		scope = strings.TrimSpace(h[i+1 : i+1+end])
		if scope == "" {
			return "", "", false, "", false
		}
		i += end + 2
	}
	if i < len(h) && h[i] == '!' {
		bang = true
		i++
	}
	if !strings.HasPrefix(h[i:], ": ") {
		return "", "", false, "", false
	}
	desc = strings.TrimSpace(h[i+2:])
	if desc == "" {
		return "", "", false, "", false
	}
	return typ, scope, bang, desc, true
}

func isTypeByte(c byte, first bool) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return !first && (c >= '0' && c <= '9' || c == '_' || c == '-')
}

// footerToken returns the token and value when line starts a footer:
// "Token: value", "Token #value", "BREAKING CHANGE: value". A token is a
// word of letters, digits and '-' (no spaces), as in git trailers.
func footerToken(line string) (token, value string, ok bool) {
	if strings.HasPrefix(line, "BREAKING CHANGE: ") || strings.HasPrefix(line, "BREAKING CHANGE #") {
		return "BREAKING CHANGE", strings.TrimSpace(line[len("BREAKING CHANGE")+2:]), true
	}
	i := 0
	for i < len(line) {
		c := line[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			i++
			continue
		}
		break
	}
	if i == 0 || i+1 >= len(line) {
		return "", "", false
	}
	switch {
	case line[i] == ':' && line[i+1] == ' ':
		return line[:i], strings.TrimSpace(line[i+2:]), true
	case line[i] == ' ' && line[i+1] == '#':
		return line[:i], strings.TrimSpace(line[i+2:]), true
	}
	return "", "", false
}

// footerStart returns the index of the first line of the footer block: the
// earliest paragraph such that it and every later paragraph begin with a
// footer token. It returns len(lines) when there are no footers. The
// header's own line is not in lines, so a footer paragraph right after the
// header's blank line counts.
func footerStart(lines []string) int {
	start := len(lines)
	// Walk paragraphs from the end.
	i := len(lines)
	for i > 0 {
		// Skip trailing blank lines.
		for i > 0 && strings.TrimSpace(lines[i-1]) == "" {
			i--
		}
		if i == 0 {
			break
		}
		j := i
		for j > 0 && strings.TrimSpace(lines[j-1]) != "" {
			j--
		}
		// lines[j:i] is a paragraph; it must be preceded by a blank line (or
		// be the first line after the header's blank line).
		if _, _, ok := footerToken(lines[j]); !ok || j == 0 {
			break
		}
		start = j
		i = j
	}
	return start
}

func parseFooters(lines []string) []Footer {
	var fs []Footer
	for _, l := range lines {
		if tok, val, ok := footerToken(l); ok {
			fs = append(fs, Footer{Token: tok, Value: val})
			continue
		}
		if len(fs) > 0 {
			fs[len(fs)-1].Value += "\n" + l
		}
	}
	for i := range fs {
		fs[i].Value = strings.TrimSpace(fs[i].Value)
	}
	return fs
}

// parseRevert recognises `Revert "subject"` (git revert) and the
// conventional "revert:" type; the reverted SHA comes from the line
// "This reverts commit <sha>." or, failing that, a Refs footer holding a SHA.
func parseRevert(m Message) *Revert {
	isGit := strings.HasPrefix(m.Subject, "Revert \"")
	if !isGit && m.Type != "revert" {
		return nil
	}
	r := &Revert{}
	if isGit {
		// Up to the last quote: a squash merge of the revert's pull request
		// appends " (#13)" after it.
		s := strings.TrimPrefix(m.Subject, "Revert \"")
		if q := strings.LastIndexByte(s, '"'); q >= 0 {
			s = s[:q]
		}
		r.Subject = s
	} else {
		r.Subject = m.Description
	}
	for _, text := range []string{m.Body, footerText(m)} {
		if i := strings.Index(text, "This reverts commit "); i >= 0 {
			if sha := leadingHex(text[i+len("This reverts commit "):]); len(sha) >= 7 {
				r.SHA = sha
				return r
			}
		}
	}
	if v, ok := m.Footer("Refs"); ok {
		if sha := leadingHex(v); len(sha) >= 7 {
			r.SHA = sha
		}
	}
	return r
}

func footerText(m Message) string {
	var b strings.Builder
	for _, f := range m.Footers {
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

func leadingHex(s string) string {
	i := 0
	for i < len(s) && i < 64 {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			i++
			continue
		}
		break
	}
	return s[:i]
}

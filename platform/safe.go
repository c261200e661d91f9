package platform

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

// Dialect is the workflow-command syntax of the log a SafeWriter writes to.
type Dialect int

const (
	// Plain is a terminal or an unknown CI: no command syntax of its own,
	// but lines are still defused in case the log ends up in a runner.
	Plain Dialect = iota
	// GitHubActions understands ::stop-commands::, so untrusted blocks are
	// also wrapped in a stop-commands token.
	GitHubActions
	// AzurePipelines has no stop-commands; lines are defused.
	AzurePipelines
)

// SafeWriter writes log lines so that text from commits, tools and servers
// never runs as a workflow command and registered secrets never appear:
//
//   - a line whose first non-space characters are "::" (a GitHub Actions
//     command) gets a zero-width space in front, which the runner does not
//     trim, so it is printed instead of run;
//   - "##" anywhere becomes "#\u200b#", which defuses Azure's "##vso[...]"
//     (matched anywhere in a line) and the "##[...]" syntax of both runners;
//   - carriage returns end lines, like newlines (a bare \r could otherwise
//     start a fresh line on a terminal);
//   - every secret passed to Redact (4 characters or longer) is replaced by
//     "***", on every platform, as a second line of defence behind the
//     runner's own masking.
//
// It never returns write errors to callers (a log that cannot be written
// must not stop a release); Err reports the first one. It is safe for
// concurrent use.
type SafeWriter struct {
	mu      sync.Mutex
	w       io.Writer
	dialect Dialect
	token   func() string
	secrets []string
	err     error
}

// NewSafeWriter returns a SafeWriter on w. token returns a fresh random
// token for ::stop-commands:: blocks; nil uses crypto/rand.
func NewSafeWriter(w io.Writer, d Dialect, token func() string) *SafeWriter {
	if token == nil {
		token = RandomToken
	}
	return &SafeWriter{w: w, dialect: d, token: token}
}

// RandomToken returns 32 random hex digits.
func RandomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported systems
	}
	return hex.EncodeToString(b[:])
}

// Redact registers a secret: from now on it is written as "***". Secrets
// shorter than 4 characters are not redacted (they would mangle the log).
func (s *SafeWriter) Redact(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secretParts(secret) {
		if len(v) >= pipeline.MinSecretLength && !slices.Contains(s.secrets, v) {
			s.secrets = append(s.secrets, v)
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(s.secrets, func(i, j int) bool { return len(s.secrets[i]) > len(s.secrets[j]) })
}

// secretParts is the secret and, for a multi-line secret, each line.
func secretParts(secret string) []string {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil
	}
	parts := []string{secret}
	if strings.ContainsAny(secret, "\r\n") {
		for _, l := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
	}
	return parts
}

// Println writes untrusted text, one log line per line of text, each
// defused and redacted.
func (s *SafeWriter) Println(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write(s.lines(text))
}

// Block writes an untrusted multi-line block (a test output, a stack trace).
// On GitHub Actions it is also wrapped in ::stop-commands::<token> …
// ::<token>:: with a fresh random token that the text does not contain, so
// the runner processes no command at all until the block ends.
func (s *SafeWriter) Block(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := s.lines(text)
	if s.dialect != GitHubActions {
		s.write(lines)
		return
	}
	tok := s.token()
	for strings.Contains(text, tok) || tok == "" {
		tok = RandomToken()
	}
	s.write("::stop-commands::" + tok + "\n" + lines + "::" + tok + "::\n")
}

// command writes a line built by this package: a workflow command whose
// untrusted parts are already redacted (with redacted, before they were
// escaped) and escaped. The line as a whole is neither redacted nor
// defused, so a secret that happens to equal a command word ("task",
// "warning") cannot break the command.
func (s *SafeWriter) command(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write(line + "\n")
}

// unredacted writes a line as it is: only for mask commands, which must
// carry the secret to the runner.
func (s *SafeWriter) unredacted(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write(line + "\n")
}

// Err returns the first error the underlying writer returned.
func (s *SafeWriter) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *SafeWriter) write(text string) {
	if _, err := io.WriteString(s.w, text); err != nil && s.err == nil {
		s.err = err
	}
}

// redacted returns text with every registered secret replaced by "***".
// Commands redact their untrusted parts with it before escaping them, so a
// secret is found whatever the escaping would make of it.
func (s *SafeWriter) redacted(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.redact(text)
}

// redactedBody returns a markdown body (PR comment, job summary) with
// every form in which the report renders a registered secret
// (report.RenderedForms) replaced by "•••": no markup anywhere, and never
// longer in characters than a secret (4 or more), so a body the report
// trimmed to the platform's limit stays within it.
func (s *SafeWriter) redactedBody(body string) string {
	return s.redactedComment("", body)
}

// redactedComment is redactedBody for a comment that starts with marker:
// the marker stays as it is, so a secret that happens to equal part of it
// cannot keep the comment from being found again.
func (s *SafeWriter) redactedComment(marker, body string) string {
	if marker != "" && strings.HasPrefix(body, marker) {
		return marker + s.redactedComment("", body[len(marker):])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.secrets {
		for _, f := range report.RenderedForms(v) {
			body = strings.ReplaceAll(body, f, "•••")
		}
	}
	return body
}

// holdsSecret reports whether text contains a registered secret.
func (s *SafeWriter) holdsSecret(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.secrets {
		if strings.Contains(text, v) {
			return true
		}
	}
	return false
}

func (s *SafeWriter) redact(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "***")
	}
	return text
}

// lines splits, defuses and redacts text; the result ends with "\n".
func (s *SafeWriter) lines(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSuffix(text, "\n")
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(Defuse(s.redact(line)))
		b.WriteByte('\n')
	}
	return b.String()
}

// Defuse makes one line inert as a workflow command on GitHub Actions and
// Azure Pipelines (see SafeWriter). It does not handle newlines: split
// first.
func Defuse(line string) string { return report.DefuseLine(line) }

// lineWriter adapts a SafeWriter to the io.Writer that go-githubactions
// writes its commands to: whole lines (the GitHub methods redact the
// untrusted parts before go-githubactions escapes them), never an error.
type lineWriter struct{ s *SafeWriter }

func (l lineWriter) Write(p []byte) (int, error) {
	l.s.command(strings.TrimRight(string(p), "\r\n"))
	return len(p), nil
}

// EscapeGitHubData escapes a workflow command's message the way the
// Actions toolkit does: % → %25, \r → %0D, \n → %0A, so the message cannot
// end the line.
func EscapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// EscapeGitHubProperty escapes a workflow command property: the data
// escapes plus : → %3A and , → %2C.
func EscapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// EscapeAzureData escapes a logging command's message the way
// azure-pipelines-task-lib does: % → %AZP25, \r → %0D, \n → %0A.
func EscapeAzureData(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// EscapeAzureProperty escapes a logging command property value: the data
// escapes plus ; → %3B and ] → %5D, so it cannot end the property list.
func EscapeAzureProperty(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A", ";", "%3B", "]", "%5D").Replace(s)
}

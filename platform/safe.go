package platform

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"

	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/report"
)

// Dialect is the workflow-command syntax of the log a SafeWriter writes to.
type Dialect = egress.Dialect

const (
	// Plain is a terminal or an unknown CI: no command syntax of its own,
	// but lines are still defused in case the log ends up in a runner.
	Plain = egress.Plain
	// GitHubActions understands ::stop-commands::, so untrusted blocks are
	// also wrapped in a stop-commands token.
	GitHubActions = egress.GitHub
	// AzurePipelines has no stop-commands; lines are defused.
	AzurePipelines = egress.Azure
)

// SafeWriter is a platform's log on top of the process's exit
// (internal/egress), which does the work: every secret registered with
// Redact is masked in every form on every line, control characters are
// made visible, a line never starts a GitHub command ("::" after leading
// whitespace gets a zero-width space in front) and "##[" and "##vso["
// get one after their "##" anywhere in a line (Azure runs them there);
// carriage returns end lines. Workflow commands the platform builds go through
// the exit's Command, which masks and makes visible their property values
// and message. On top of that, Block wraps an untrusted block in GitHub's
// ::stop-commands::.
//
// It never returns write errors to callers (a log that cannot be written
// must not stop a release); Err reports the first one. It is safe for
// concurrent use.
type SafeWriter struct {
	x       *egress.Exit
	log     io.Writer
	dialect Dialect
	token   func() string
}

// NewSafeWriter returns a SafeWriter on w with an exit of its own (for a
// platform used without the CLI's exit: tests, other programs). token
// returns a fresh random token for ::stop-commands:: blocks; nil uses
// crypto/rand.
func NewSafeWriter(w io.Writer, d Dialect, token func() string) *SafeWriter {
	x := egress.New(w, w, egress.Options{Dialect: d, Rendered: report.RenderedForms})
	return newSafeWriter(x, x.Stdout(), d, token)
}

func newSafeWriter(x *egress.Exit, log io.Writer, d Dialect, token func() string) *SafeWriter {
	if token == nil {
		token = RandomToken
	}
	return &SafeWriter{x: x, log: log, dialect: d, token: token}
}

// RandomToken returns 32 random hex digits.
func RandomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported systems
	}
	return hex.EncodeToString(b[:])
}

// Redact registers a secret with the exit: from now on it is masked
// ("***"), and on GitHub and Azure the runner is told (::add-mask::,
// task.setsecret), line by line. Secrets shorter than 4 characters are not
// masked (they would mangle the log).
func (s *SafeWriter) Redact(secret string) { s.x.Secret(secret) }

// Println writes untrusted text, one log line per line of text.
func (s *SafeWriter) Println(text string) {
	_, _ = io.WriteString(s.log, strings.TrimSuffix(text, "\n")+"\n")
}

// Block writes an untrusted multi-line block (a test output, a stack trace).
// On GitHub Actions it is also wrapped in ::stop-commands::<token> …
// ::<token>:: with a fresh random token that the text does not contain, so
// the runner processes no command at all until the block ends.
func (s *SafeWriter) Block(text string) {
	if s.dialect != GitHubActions {
		s.Println(text)
		return
	}
	tok := s.token()
	for strings.Contains(text, tok) || tok == "" {
		tok = RandomToken()
	}
	s.x.Command("::stop-commands::" + tok)
	s.Println(text)
	s.x.Command("::" + tok + "::")
}

// command writes a workflow command built by this package; the exit masks
// and makes visible its values and message (see egress.Exit.Command).
func (s *SafeWriter) command(line string) { s.x.Command(line) }

// Err returns the first error the underlying writer returned.
func (s *SafeWriter) Err() error { return s.x.Err() }

// redacted returns text with every registered secret replaced by "***",
// for text that is escaped afterwards.
func (s *SafeWriter) redacted(text string) string { return s.x.Mask(text) }

// redactedBody returns a markdown body (PR comment, job summary) with
// every form in which the report renders a registered secret
// (report.RenderedForms) replaced by "•••": no markup anywhere, and never
// longer in characters than a secret (4 or more), so a body the report
// trimmed to the platform's limit stays within it.
func (s *SafeWriter) redactedBody(body string) string {
	return string(s.x.Safe([]byte(body), egress.Markdown))
}

// redactedComment is redactedBody for a comment that starts with marker:
// the marker stays as it is, so a secret that happens to equal part of it
// cannot keep the comment from being found again.
func (s *SafeWriter) redactedComment(marker, body string) string {
	if marker != "" && strings.HasPrefix(body, marker) {
		return marker + s.redactedBody(body[len(marker):])
	}
	return s.redactedBody(body)
}

// holdsSecret reports whether text contains a registered secret.
func (s *SafeWriter) holdsSecret(text string) bool { return s.x.Mask(text) != text }

// Defuse makes one line inert as a workflow command on GitHub Actions and
// Azure Pipelines (see SafeWriter). It does not handle newlines: split
// first.
func Defuse(line string) string { return egress.DefuseLine(line) }

// lineWriter adapts a SafeWriter to the io.Writer that go-githubactions
// writes its commands to: whole lines, each a command (whose values the
// exit makes safe), never an error.
type lineWriter struct{ s *SafeWriter }

func (l lineWriter) Write(p []byte) (int, error) {
	l.s.command(strings.TrimRight(string(p), "\r\n"))
	return len(p), nil
}

// EscapeGitHubData escapes a workflow command's message the way the
// Actions toolkit does: % → %25, \r → %0D, \n → %0A, so the message cannot
// end the line.
func EscapeGitHubData(s string) string { return egress.EscapeGitHubData(s) }

// EscapeGitHubProperty escapes a workflow command property: the data
// escapes plus : → %3A and , → %2C.
func EscapeGitHubProperty(s string) string { return egress.EscapeGitHubProperty(s) }

// EscapeAzureData escapes a logging command's message the way
// azure-pipelines-task-lib does: % → %AZP25, \r → %0D, \n → %0A.
func EscapeAzureData(s string) string { return egress.EscapeAzureData(s) }

// EscapeAzureProperty escapes a logging command property value: the data
// escapes plus ; → %3B and ] → %5D, so it cannot end the property list.
func EscapeAzureProperty(s string) string { return egress.EscapeAzureProperty(s) }

package platform

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/amigo-release/amigo-release/internal/egress"
)

// Local is a terminal, a cron job or a CI this package does not know:
// plain lines, settings from AMIGO_* variables, and no PR comments.
// Outputs go to the file named by AMIGO_OUTPUT (name=value lines, or
// name<<delimiter heredocs for multi-line values) and the summary to the
// file named by AMIGO_SUMMARY, when they are set; otherwise they are not
// written. Masked secrets are redacted ("***") from everything it prints.
type Local struct {
	getenv  func(string) string
	cfg     config
	log     *SafeWriter
	mu      sync.Mutex
	inGroup bool
}

var _ Platform = (*Local)(nil)

// NewLocal returns the local platform reading the environment through
// getenv.
func NewLocal(getenv func(string) string, opts ...Option) *Local {
	cfg := newConfig(opts)
	return &Local{getenv: getenv, cfg: cfg, log: cfg.safeWriter(Plain)}
}

// Name returns "local".
func (*Local) Name() string { return "local" }

// Event is a manual run; the CLI takes commits and branch from git and its
// flags.
func (*Local) Event() (Event, error) { return Event{Kind: Manual, Name: "manual"}, nil }

// Input returns the AMIGO_<NAME> variable, trimmed.
func (l *Local) Input(name string) string { return strings.TrimSpace(l.getenv(envName(name))) }

// Mask masks the secret in everything that leaves the process.
func (l *Local) Mask(secret string) { l.log.Redact(secret) }

func (l *Local) line(prefix, msg string) {
	indent := ""
	l.mu.Lock()
	if l.inGroup {
		indent = "  "
	}
	l.mu.Unlock()
	for _, ln := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		l.log.Println(indent + prefix + ln)
	}
}

// Infof prints a line.
func (l *Local) Infof(format string, args ...any) { l.line("", fmt.Sprintf(format, args...)) }

// Warningf prints "warning: …".
func (l *Local) Warningf(format string, args ...any) {
	l.line("warning: ", fmt.Sprintf(format, args...))
}

// Errorf prints "error: …".
func (l *Local) Errorf(format string, args ...any) { l.line("error: ", fmt.Sprintf(format, args...)) }

// Group prints "▸ title" and indents the lines until EndGroup.
func (l *Local) Group(title string) {
	l.log.Println("▸ " + foldLine(title))
	l.mu.Lock()
	l.inGroup = true
	l.mu.Unlock()
}

// EndGroup ends the indentation.
func (l *Local) EndGroup() {
	l.mu.Lock()
	l.inGroup = false
	l.mu.Unlock()
}

// Print writes an untrusted block.
func (l *Local) Print(text string) { l.log.Block(text) }

// Annotate prints "error: file:line:col: title: message".
func (l *Local) Annotate(a Annotation) {
	where := a.File
	if a.File != "" && a.Line > 0 {
		where += fmt.Sprintf(":%d", a.Line)
		if a.Col > 0 {
			where += fmt.Sprintf(":%d", a.Col)
		}
	}
	msg := a.Message
	if a.Title != "" {
		msg = foldLine(a.Title) + ": " + msg
	}
	if where != "" {
		msg = where + ": " + msg
	}
	level := a.Level
	if level == "" {
		level = LevelError
	}
	l.line(string(level)+": ", msg)
}

// SetOutput appends to the AMIGO_OUTPUT file, if set.
func (l *Local) SetOutput(name, value string) error {
	path := l.getenv("AMIGO_OUTPUT")
	if path == "" {
		return nil
	}
	if name == "" || strings.ContainsAny(name, "\r\n=<") {
		return fmt.Errorf("set output %q: an output name cannot be empty or contain newlines, '=' or '<'", name)
	}
	if !strings.ContainsAny(value, "\r\n") {
		return l.log.x.AppendFile(path, []byte(name+"="+value+"\n"), egress.Data)
	}
	delim := "EOF_" + l.cfg.token()
	for strings.Contains(value, delim) {
		delim = "EOF_" + RandomToken()
	}
	return l.log.x.AppendFile(path, []byte(name+"<<"+delim+"\n"+value+"\n"+delim+"\n"), egress.Data)
}

// Summary appends markdown to the AMIGO_SUMMARY file, if set.
func (l *Local) Summary(markdown string) error {
	path := l.getenv("AMIGO_SUMMARY")
	if path == "" {
		return nil
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	if err := l.log.x.AppendFile(path, []byte(markdown), egress.Markdown); err != nil {
		return fmt.Errorf("write summary (AMIGO_SUMMARY): %w", err)
	}
	return nil
}

// Complete does nothing: the exit code is the result.
func (*Local) Complete(Result, string) {}

// PostComment posts nothing: there is no pull request outside a CI.
func (*Local) PostComment(context.Context, string, string) (CommentResult, error) {
	return CommentResult{}, nil
}

// CommentLimit is GitHub's limit, for previews printed locally.
func (*Local) CommentLimit() int { return 65536 }

// RunURL is empty.
func (*Local) RunURL() string { return "" }

// Err returns the first error writing the log.
func (l *Local) Err() error { return l.log.Err() }

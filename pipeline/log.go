package pipeline

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// TextLogger is a Logger that writes plain text lines to an io.Writer:
// warnings and errors are prefixed, groups are a title line and indented
// lines. It is safe for concurrent use.
type TextLogger struct {
	mu      sync.Mutex
	w       io.Writer
	inGroup bool
}

// NewTextLogger returns a TextLogger writing to w.
func NewTextLogger(w io.Writer) *TextLogger { return &TextLogger{w: w} }

func (l *TextLogger) line(prefix, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	indent := ""
	if l.inGroup {
		indent = "  "
	}
	msg := fmt.Sprintf(format, args...)
	for _, ln := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(l.w, "%s%s%s\n", indent, prefix, ln)
	}
}

// Infof writes one line.
func (l *TextLogger) Infof(format string, args ...any) { l.line("", format, args...) }

// Warningf writes one line prefixed "warning: ".
func (l *TextLogger) Warningf(format string, args ...any) { l.line("warning: ", format, args...) }

// Errorf writes one line prefixed "error: ".
func (l *TextLogger) Errorf(format string, args ...any) { l.line("error: ", format, args...) }

// Group writes the title; lines until EndGroup are indented.
func (l *TextLogger) Group(title string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "▸ %s\n", title)
	l.inGroup = true
}

// EndGroup ends the indentation.
func (l *TextLogger) EndGroup() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inGroup = false
}

// discardLogger drops everything.
type discardLogger struct{}

func (discardLogger) Infof(string, ...any)    {}
func (discardLogger) Warningf(string, ...any) {}
func (discardLogger) Errorf(string, ...any)   {}
func (discardLogger) Group(string)            {}
func (discardLogger) EndGroup()               {}

// level of a buffered line.
type level int

const (
	levelInfo level = iota
	levelWarning
	levelError
)

type logLine struct {
	level level
	text  string
}

// runLog serialises the run's output: run-level lines go out at once; each
// tool's step lines are buffered and written as one group when the tool is
// done, so concurrent tools never interleave inside a CI log group. Every
// line passes through the secret masker first.
type runLog struct {
	mu      sync.Mutex
	out     Logger
	secrets []string
	masker  *strings.Replacer
	start   time.Time
	now     func() time.Time
	buffer  map[string][]logLine
}

func newRunLog(out Logger, secrets []string, now func() time.Time) *runLog {
	if out == nil {
		out = discardLogger{}
	}
	return &runLog{out: out, secrets: secrets, masker: maskReplacer(secrets), start: now(), now: now, buffer: map[string][]logLine{}}
}

// addSecrets adds values to mask from now on.
func (l *runLog) addSecrets(values []string) {
	if len(values) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, values...)
	l.masker = maskReplacer(l.secrets)
}

// mask replaces every known secret value in s with "***".
func (l *runLog) mask(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.masker.Replace(s)
}

// MinSecretLength is the shortest secret value that is masked: a shorter
// one would turn every "a" or "us" in the log into "***" and protects
// nothing (the CLI warns, naming the variable). The platform writers use
// the same bound.
const MinSecretLength = 4

// maskReplacer replaces every secret value with "***", longest first so a
// secret containing another is masked whole.
func maskReplacer(secrets []string) *strings.Replacer {
	uniq := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= MinSecretLength {
			uniq[s] = true
		}
	}
	list := make([]string, 0, len(uniq))
	for s := range uniq {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, "***")
	}
	return strings.NewReplacer(pairs...)
}

func (l *runLog) elapsed() string {
	return "+" + formatDuration(l.now().Sub(l.start))
}

// Infof writes a run-level line at once.
func (l *runLog) Infof(format string, args ...any) {
	l.emit(levelInfo, fmt.Sprintf("[%s] ", l.elapsed())+fmt.Sprintf(format, args...))
}

// Warningf writes a run-level warning at once.
func (l *runLog) Warningf(format string, args ...any) {
	l.emit(levelWarning, fmt.Sprintf(format, args...))
}

func (l *runLog) emit(lv level, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.write(lv, l.masker.Replace(text))
}

func (l *runLog) write(lv level, text string) {
	switch lv {
	case levelWarning:
		l.out.Warningf("%s", text)
	case levelError:
		l.out.Errorf("%s", text)
	default:
		l.out.Infof("%s", text)
	}
}

// step buffers one line for tool: "[+elapsed] tool stage step: what (duration)".
func (l *runLog) step(lv level, tool, stage, step, what string, d time.Duration) {
	text := fmt.Sprintf("[%s] %s %s %s: %s", l.elapsed(), tool, stage, step, what)
	if d > 0 {
		text += " (" + formatDuration(d) + ")"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buffer[tool] = append(l.buffer[tool], logLine{lv, l.masker.Replace(text)})
}

// flush writes tool's buffered lines as one group titled title.
func (l *runLog) flush(tool, title string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.buffer[tool]
	delete(l.buffer, tool)
	l.out.Group(l.masker.Replace(title))
	for _, ln := range lines {
		l.write(ln.level, ln.text)
	}
	l.out.EndGroup()
}

// formatDuration renders d compactly: 850ms, 12s, 3m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

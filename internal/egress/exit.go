package egress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Dialect is the workflow-command syntax of the runner that reads the
// process's output.
type Dialect int

const (
	// Plain is a terminal or an unknown CI: no commands of its own (lines
	// are still defused, in case the log ends up in a runner).
	Plain Dialect = iota
	// GitHub is GitHub Actions: "::name props::data" at the start of a
	// line, ::add-mask::, ::stop-commands::.
	GitHub
	// Azure is Azure Pipelines: "##vso[area.event props]data" and
	// "##[name]data", task.setsecret.
	Azure
)

// DialectOf detects the runner from the environment: GitHub Actions when
// GITHUB_ACTIONS is "true", Azure Pipelines when TF_BUILD is "True" (any
// case), else Plain.
func DialectOf(getenv func(string) string) Dialect {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return GitHub
	case strings.EqualFold(getenv("TF_BUILD"), "true"):
		return Azure
	}
	return Plain
}

// Kind says what a document is, and so what the exit does to it (see
// Exit.Safe).
type Kind int

const (
	// Log is text for a log: every secret masked ("***"), control
	// characters visible (Visible), every line defused (DefuseLine). What
	// Stdout and Stderr write.
	Log Kind = iota
	// Markdown is a document that is rendered (a job summary, a pull
	// request comment): every secret masked as "•••" (no markup, never
	// longer than a secret), in every form the renderer can give it
	// (Options.Rendered) too, and control characters visible. Lines are not
	// defused: a summary is not a log, and "##" is a heading there.
	Markdown
	// JSON is a JSON document: every string in it (keys too) is masked,
	// visible and defused line by line, so `jq -r` prints nothing that
	// runs; the document stays valid JSON, indented as it came.
	JSON
	// Data is read by programs (step output files): secrets masked and
	// control characters visible as in Visible, but line endings (\r\n
	// included) kept as they are.
	Data
)

const (
	maskLog      = "***"
	maskMarkdown = "•••"
	// maxPending bounds a log line held back until its end: a longer one
	// is broken there (keeping back enough to mask a secret it straddles).
	maxPending = 64 << 10
)

// Options configure an Exit.
type Options struct {
	// Dialect is the runner that reads stdout (DialectOf).
	Dialect Dialect
	// Rendered returns the ways a renderer can show a secret in a Markdown
	// document besides the forms the exit knows itself (markdown escapes
	// such as "sk\_live", HTML entities); report.RenderedForms.
	Rendered func(secret string) []string
}

// Exit is the one way out of the process. Everything amigo-release writes
// to its standard output and error, to files and into pull request
// comments passes through one Exit, which masks every secret registered
// with Secret in every form, makes control characters visible and keeps
// text from running as a workflow command. An Exit is safe for concurrent
// use; its writers never return errors (a log that cannot be written must
// not stop a release): Err reports the first one.
type Exit struct {
	sh       *shared
	parent   *Exit
	dialect  Dialect
	rendered func(string) []string
	secrets  secretSet
	told     map[string]bool // lines the runner was told to mask
	stdout   *stream
	stderr   *stream
}

// shared is what an Exit and its scopes have in common: the process's
// writers and the lock that orders every write to them.
type shared struct {
	mu       sync.Mutex
	out, err io.Writer
	werr     error
	streams  []*stream // every Exit's Stdout and Stderr, for Close
	// data: standard output carries a document (DataOnStdout), so the
	// runner's commands go to standard error.
	data bool
}

// New returns the exit over the process's standard output and error.
func New(stdout, stderr io.Writer, o Options) *Exit {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	x := &Exit{sh: &shared{out: stdout, err: stderr}, dialect: o.Dialect, rendered: o.Rendered}
	x.stdout, x.stderr = &stream{x: x, stdout: true}, &stream{x: x}
	x.sh.streams = append(x.sh.streams, x.stdout, x.stderr)
	return x
}

// Scope returns an exit that writes to the same outputs and masks x's
// secrets and its own, while secrets registered with it stay unknown to x:
// for a part of the process whose "secrets" the rest prints on purpose
// (the demo's placeholder credentials).
func (x *Exit) Scope() *Exit {
	c := &Exit{sh: x.sh, parent: x, dialect: x.dialect, rendered: x.rendered}
	c.stdout, c.stderr = &stream{x: c, stdout: true}, &stream{x: c}
	x.sh.mu.Lock()
	x.sh.streams = append(x.sh.streams, c.stdout, c.stderr)
	x.sh.mu.Unlock()
	return c
}

// Dialect is the runner the exit writes for.
func (x *Exit) Dialect() Dialect { return x.dialect }

// Stdout is the process's standard output as log text (Kind Log): masked,
// visible, defused, a line at a time (a line is held until it ends, or
// until Close).
func (x *Exit) Stdout() io.Writer { return x.stdout }

// Stderr is the process's standard error, treated as Stdout is.
func (x *Exit) Stderr() io.Writer { return x.stderr }

// Secret registers values that must never leave the process: from now on
// they are masked everywhere, with each line of a multi-line value and
// their JSON-escaped, Go-quoted, URL-encoded and base64 forms. On GitHub
// Actions each value (each line of a multi-line one) is also registered
// with the runner by ::add-mask::, on Azure Pipelines by
// ##vso[task.setsecret], on standard output, once. A command that writes
// a CI log calls it before anything else. Empty values and values shorter
// than MinSecretLength are ignored (the caller warns about those).
func (x *Exit) Secret(values ...string) {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	for _, v := range values {
		x.secrets.add(v, x.rendered)
		for _, l := range linesOf(v) {
			if x.wasTold(l) {
				continue
			}
			if x.told == nil {
				x.told = map[string]bool{}
			}
			x.told[l] = true
			// The runner reads the log as UTF-8: it sees what it masks
			// the way it sees the lines that show it.
			l = strings.ToValidUTF8(l, "\uFFFD")
			switch x.dialect {
			case GitHub:
				x.writeRaw(!x.sh.data, "::add-mask::"+EscapeGitHubData(l)+"\n")
			case Azure:
				x.writeRaw(!x.sh.data, "##vso[task.setsecret]"+EscapeAzureData(l)+"\n")
			}
		}
	}
}

// Hide registers values to mask as Secret does, without telling the
// runner: for what every command must mask (the credential variables)
// before it is known whether the command writes a CI log at all, or data
// whose standard output a step captures (version --json, a completion
// script).
func (x *Exit) Hide(values ...string) {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	for _, v := range values {
		x.secrets.add(v, x.rendered)
	}
}

// wasTold reports whether the runner was told about line, here or by a
// parent scope.
func (x *Exit) wasTold(line string) bool {
	for e := x; e != nil; e = e.parent {
		if e.told[line] {
			return true
		}
	}
	return false
}

// Command writes a workflow command that the program builds itself
// (::error file=…::message, ##vso[task.logissue …]message) to standard
// output, whole, on a line of its own. Its property values and its
// message are unescaped by the dialect's rules, masked, made visible, have
// their "##[" and "##vso[" defused, and are escaped again; the command
// word and property names stay. A line that is not a command of the exit's dialect (and mask
// registrations, which only Secret writes) is written as log text instead.
func (x *Exit) Command(line string) {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	line = strings.TrimRight(line, "\r\n")
	if cmd, ok := x.command(line); ok {
		x.writeRaw(!x.sh.data, cmd+"\n")
		return
	}
	x.writeRaw(!x.sh.data, x.safe(line+"\n", Log))
}

// DataOnStdout says that from now on the process's standard output carries
// a document a program reads (--report-json -, status --json), written
// with Emit: the runner's commands (mask registrations, Command) go to
// standard error instead, where GitHub's runner and Azure's agent read
// them too, and a log should be written to Stderr (StdoutHoldsData). It
// holds for every scope of the exit; call it before anything is written.
func (x *Exit) DataOnStdout() {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	x.sh.data = true
}

// StdoutHoldsData reports whether DataOnStdout was called.
func (x *Exit) StdoutHoldsData() bool {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	return x.sh.data
}

// Emit writes a whole document made safe for its kind (see Kind) to
// standard output, after what Stdout holds back: for data a program reads
// there (a JSON document through the JSON kind stays valid JSON, its
// strings masked, visible and defused, so neither the document in a log
// nor `jq -r` of it runs a command). The error is the write's.
func (x *Exit) Emit(data []byte, k Kind) error {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	for _, s := range x.sh.streams {
		if s.stdout {
			s.flush()
		}
	}
	safe := x.safe(string(data), k)
	if _, err := io.WriteString(x.sh.out, safe); err != nil {
		if x.sh.werr == nil {
			x.sh.werr = err
		}
		return err
	}
	return nil
}

// Mask returns text with every form of every registered secret replaced
// by "***", for a caller that escapes text after masking it.
func (x *Exit) Mask(text string) string {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	return x.mask(text, maskLog, false)
}

// Safe returns data as the exit would write it for its kind (see Kind);
// JSON that does not parse is treated as Log text. Use it for bytes that
// leave by another way (an API call posting a comment).
func (x *Exit) Safe(data []byte, k Kind) []byte {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	return []byte(x.safe(string(data), k))
}

// WriteFile writes data, made safe for its kind, to the file at path,
// creating or truncating it.
func (x *Exit) WriteFile(path string, data []byte, k Kind) error {
	return x.writeFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, data, k)
}

// AppendFile appends data, made safe for its kind, to the file at path,
// creating it if needed (the runners' $GITHUB_OUTPUT and
// $GITHUB_STEP_SUMMARY).
func (x *Exit) AppendFile(path string, data []byte, k Kind) error {
	return x.writeFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, data, k)
}

// TempFile creates a new file in dir (os.CreateTemp's pattern), writes
// data made safe for its kind to it and returns its path.
func (x *Exit) TempFile(dir, pattern string, data []byte, k Kind) (string, error) {
	safe := x.Safe(data, k)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(safe); err != nil {
		f.Close()
		return f.Name(), fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return f.Name(), fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

func (x *Exit) writeFile(path string, flag int, data []byte, k Kind) error {
	safe := x.Safe(data, k)
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(safe); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close writes what the standard output and error (its own and its
// scopes') hold back, a last line without its newline, and returns Err.
// The exit stays usable.
func (x *Exit) Close() error {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	for _, s := range x.sh.streams {
		s.flush()
	}
	return x.sh.werr
}

// Err returns the first error writing the standard output or error.
func (x *Exit) Err() error {
	x.sh.mu.Lock()
	defer x.sh.mu.Unlock()
	return x.sh.werr
}

// mask replaces every registered form here and in the parent scopes by
// repl. The lock is held.
func (x *Exit) mask(text, repl string, markdown bool) string {
	for e := x; e != nil; e = e.parent {
		text = e.secrets.mask(text, repl, markdown)
	}
	return text
}

// longest is the longest form registered here or in a parent scope.
func (x *Exit) longest() int {
	n := 0
	for e := x; e != nil; e = e.parent {
		n = max(n, e.secrets.longest)
	}
	return n
}

// safe makes a whole document safe for its kind. The lock is held.
func (x *Exit) safe(text string, k Kind) string {
	switch k {
	case Markdown:
		text = x.mask(text, maskMarkdown, true)
		if v := Visible(text); v != text {
			text = x.mask(v, maskMarkdown, true)
		}
		return text
	case JSON:
		if out, err := x.safeJSON(text); err == nil {
			return out
		}
		return x.safe(text, Log)
	case Data:
		text = x.mask(text, maskLog, false)
		if v := visibleData(text); v != text {
			text = x.mask(v, maskLog, false)
		}
		return text
	}
	return x.safeText(text)
}

// safeText is Log text: masked, visible, defused line by line, masked
// again when that changed it (a control character or a "##" can hide
// a secret from the first pass).
func (x *Exit) safeText(text string) string {
	text = x.mask(text, maskLog, false)
	if t := logLines(text); t != text {
		text = x.mask(t, maskLog, false)
	}
	return text
}

// writeRaw writes s to standard output (or error) as it is. The lock is
// held.
func (x *Exit) writeRaw(stdout bool, s string) {
	w := x.sh.err
	if stdout {
		w = x.sh.out
	}
	if _, err := io.WriteString(w, s); err != nil && x.sh.werr == nil {
		x.sh.werr = err
	}
}

// stream is Stdout or Stderr: it holds a line back until it ends, then
// writes it made safe (Log).
type stream struct {
	x       *Exit
	stdout  bool
	pending []byte
	// cr: the last byte written was '\r', so a '\n' that follows belongs
	// to the same line end.
	cr bool
}

// Write never fails; see Exit.Err.
func (s *stream) Write(p []byte) (int, error) {
	s.x.sh.mu.Lock()
	defer s.x.sh.mu.Unlock()
	n := len(p)
	if s.cr && len(p) > 0 && p[0] == '\n' {
		p = p[1:] // the end of a "\r\n" already written
	}
	if len(p) > 0 {
		s.cr = p[len(p)-1] == '\r'
	}
	s.pending = append(s.pending, p...)
	if i := lastLineEnd(s.pending); i >= 0 {
		s.emit(string(s.pending[:i+1]))
		s.pending = append(s.pending[:0], s.pending[i+1:]...)
	}
	for len(s.pending) > maxPending {
		// A line without end: break it, keeping back the bytes a secret
		// that runs on could start in (and a rune's worth).
		keep := s.x.longest() + 4
		cut := len(s.pending) - keep
		if cut <= 0 {
			break
		}
		for cut > 0 && s.pending[cut]&0xC0 == 0x80 {
			cut--
		}
		s.emit(string(s.pending[:cut]) + "\n")
		s.pending = append(s.pending[:0], s.pending[cut:]...)
	}
	return n, nil
}

// emit writes complete lines made safe. The lock is held.
func (s *stream) emit(lines string) {
	s.x.writeRaw(s.stdout, s.x.safeText(lines))
}

// flush writes a held-back last line. The lock is held.
func (s *stream) flush() {
	if len(s.pending) == 0 {
		return
	}
	s.emit(string(s.pending))
	s.pending = s.pending[:0]
}

func lastLineEnd(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' || b[i] == '\r' {
			return i
		}
	}
	return -1
}

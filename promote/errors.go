package promote

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (with errors.Is) by every error that Parse, Load,
// LoadProjectMeta, Resolve and CheckCredentials return for bad input, so that
// callers can tell a configuration problem (exit code 2, say) from an I/O
// failure.
var ErrInvalid = errors.New("invalid configuration")

// Error is one problem in a plan file or a project's pyproject.toml: where it
// is, what is wrong and how to fix it. Line and Column are 1-based; they are 0
// when the problem has no single position (a missing file, say).
type Error struct {
	File   string // the file as given to Load/Parse (or the pyproject.toml path)
	Line   int
	Column int
	Path   string // the key path, e.g. "stages[1].region" or "tool.amigo-release.envvars[0].name"
	Msg    string // what is wrong
	Fix    string // what to do about it
}

// Location is "file:line:col", with only the parts known: "file:line"
// without a column, "file" without a line.
func Location(file string, line, col int) string {
	switch {
	case line <= 0:
		return file
	case col <= 0:
		return fmt.Sprintf("%s:%d", file, line)
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}

// Error renders "file:line:col: path: msg; fix: ...". The file:line:col
// prefix is the form editors and CI annotations recognise.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(Location(e.File, e.Line, e.Column))
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is several problems found at once, in file order. It is what Parse
// returns when it finds more than one.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	if len(es) > 1 {
		return fmt.Sprintf("%d problems:\n%s", len(es), strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Is makes errors.Is(err, ErrInvalid) true.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// maxErrors bounds how many problems one Parse reports: past that, the file
// is probably not a plan at all.
const maxErrors = 25

// errorList collects problems during decoding.
type errorList struct {
	file string
	errs Errors
}

func (l *errorList) add(line, col int, path, msg, fix string) {
	if len(l.errs) >= maxErrors {
		return
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Column: col, Path: path, Msg: msg, Fix: fix})
}

func (l *errorList) full() bool { return len(l.errs) >= maxErrors }

// err returns nil, the single *Error, or the sorted Errors.
func (l *errorList) err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return l.errs
}

// suggest returns a "did you mean" or "valid keys are" fix for an unknown
// word among the valid ones.
func suggest(word string, valid []string, what string) string {
	sorted := append([]string(nil), valid...)
	sort.Strings(sorted)
	best, bestD := "", 1<<30
	for _, v := range sorted {
		if d := editDistance(strings.ToLower(word), v); d < bestD {
			best, bestD = v, d
		}
	}
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	if best != "" && (bestD <= limit || strings.HasPrefix(best, strings.ToLower(word)) && len(word) >= 3) {
		return fmt.Sprintf("did you mean %q? (valid %s: %s)", best, what, strings.Join(sorted, ", "))
	}
	return fmt.Sprintf("use one of the valid %s: %s", what, strings.Join(sorted, ", "))
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost 1.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

package cmd

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/amigo-release/amigo-release/pipeline"
)

// stdoutPath is the value of a file flag (--report-json) that means the
// standard output, as in gh, goreleaser and most Unix tools.
const stdoutPath = "-"

// reportToStdout reports whether the JSON report goes to standard output.
// Then standard output carries the JSON and nothing else: the log (with a
// CI's workflow commands, which both runners read on stderr too), the
// report text and errors go to standard error.
func (o ReleaseOptions) reportToStdout() bool { return o.ReportJSON == stdoutPath }

// emitReportJSON writes rep where --report-json says: to env.Stdout for
// "-", else to the file. It returns the file's absolute path ("" for
// standard output), which becomes the report-json step output.
//
// On standard output inside a CI every '#' is written as the JSON escape
// \u0023 (the same string to any JSON reader): Azure runs a "##vso[" found
// anywhere in a line of the log, and a commit subject in the report may
// hold one. GitHub's commands cannot start an indented JSON line.
func emitReportJSON(env *Env, path string, rep *pipeline.Report) (string, error) {
	b, err := rep.JSON()
	if err != nil {
		return "", err
	}
	if path == stdoutPath {
		if inCI(env.Getenv) {
			b = bytes.ReplaceAll(b, []byte("#"), []byte(`\u0023`))
		}
		if _, err := env.Stdout.Write(b); err != nil {
			return "", fmt.Errorf("standard output: %w", err)
		}
		return "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if err := rep.WriteJSON(abs); err != nil {
		return "", err
	}
	return abs, nil
}

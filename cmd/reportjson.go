package cmd

import (
	"fmt"
	"path/filepath"

	"github.com/amigo-release/amigo-release/internal/egress"
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

// emitReportJSON writes rep where --report-json says: to standard output
// for "-", else to the file, both through the process's exit as a JSON
// document (egress.JSON: every string masked, made visible and defused,
// so neither the document in a CI log nor `jq -r` of it runs a workflow
// command; it stays valid JSON). It returns the file's absolute path (""
// for standard output), which becomes the report-json step output.
func emitReportJSON(env *Env, path string, rep *pipeline.Report) (string, error) {
	b, err := rep.JSON()
	if err != nil {
		return "", err
	}
	if path == stdoutPath {
		if err := env.exit.Emit(b, egress.JSON); err != nil {
			return "", fmt.Errorf("standard output: %w", err)
		}
		return "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if err := env.exit.WriteFile(abs, b, egress.JSON); err != nil {
		return "", err
	}
	return abs, nil
}

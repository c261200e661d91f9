package platform

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/amigo-release/amigo-release/pipeline"
)

// Outputs are the step outputs computed from a report.
type Outputs struct {
	// Released lists each stage that published a version in this run.
	Released []Released `json:"released"`
	// Changed lists every tool the run looked at (its project changed).
	Changed []string `json:"changed"`
	// Matrix fans out one job per tool that releases or would release.
	Matrix Matrix `json:"matrix"`
	// Failed is !r.OK(): a tool failed or was blocked, or the run errored.
	Failed bool `json:"failed"`
	// ReportJSON is the absolute path of the JSON report file the run
	// wrote (--report-json), or "" when it wrote none (no flag, "-" for
	// standard output, or the write failed). OutputsOf leaves it empty:
	// the caller that wrote the file sets it.
	ReportJSON string `json:"report_json"`
}

// Released is one published version.
type Released struct {
	Tool    string `json:"tool"`
	Stage   string `json:"stage"`
	Version string `json:"version"`
}

// Matrix is the value of a GitHub strategy.matrix:
// {"include":[{"tool","project_path"}]}; with a fan-out schedule, one
// entry per lane, with its "slot".
type Matrix struct {
	Include []MatrixEntry `json:"include"`
}

// MatrixEntry is one job of the fan-out, the same on GitHub (matrix.tool,
// matrix.project_path) and Azure ($(tool), $(project_path)). The key is
// not "path": Azure exports every matrix variable to the job's steps as an
// environment variable with an upper-cased name, and a "path" variable
// would replace PATH, so no step could find bash or amigo-release.
//
// With a fan-out schedule (plan --fan-out-jobs) an entry is a lane: Tool
// and Path list its tools and their projects, comma-separated (the tools
// input takes the list), and Slot is the lane's slot, for the job's
// --slot (the action's slot input), so that the jobs that share
// credentials share their rate limits.
type MatrixEntry struct {
	Tool string `json:"tool"`
	Path string `json:"project_path"`
	Slot string `json:"slot,omitempty"`
}

// OutputsOf computes the outputs of r. Slices are never nil, so they
// encode as [] rather than null.
func OutputsOf(r *pipeline.Report) Outputs {
	o := Outputs{Released: []Released{}, Changed: []string{}, Matrix: Matrix{Include: []MatrixEntry{}}, Failed: !r.OK()}
	lanes := map[int]int{} // lane → its entry in Include
	for _, t := range r.Tools {
		o.Changed = append(o.Changed, t.Name)
		switch {
		case t.Status == pipeline.StatusNoRelease || t.Status == pipeline.StatusRemoved || t.Status == pipeline.StatusSkipped:
		case t.Lane > 0:
			if i, ok := lanes[t.Lane]; ok {
				e := &o.Matrix.Include[i]
				e.Tool += "," + t.Name
				e.Path += "," + t.Path
				break
			}
			lanes[t.Lane] = len(o.Matrix.Include)
			o.Matrix.Include = append(o.Matrix.Include, MatrixEntry{Tool: t.Name, Path: t.Path, Slot: t.Slot})
		default:
			o.Matrix.Include = append(o.Matrix.Include, MatrixEntry{Tool: t.Name, Path: t.Path})
		}
		for _, s := range t.Stages {
			if s.Status == pipeline.StatusReleased && s.VersionAfter != "" {
				o.Released = append(o.Released, Released{Tool: t.Name, Stage: s.Stage, Version: s.VersionAfter})
			}
		}
	}
	return o
}

// AzureMatrix is the matrix in the shape Azure's strategy: matrix takes
// from an output variable: {"<job>": {"tool": …, "project_path": …}}, with
// the same entries as Matrix.Include. No single JSON value serves both
// systems: GitHub's matrix wants arrays of values (or "include", a list of
// objects), Azure's wants a map from job name to an object of variables.
//
// The job name is the tool name when it is a valid Azure matrix
// configuration name (a letter first, then letters, digits and _, at most
// 100 characters); otherwise invalid characters become _, a leading digit
// gets a "tool_" prefix, and a clash gets a _2, _3, … suffix.
func (o Outputs) AzureMatrix() map[string]MatrixEntry {
	m := make(map[string]MatrixEntry, len(o.Matrix.Include))
	for _, e := range o.Matrix.Include {
		name := azureJobName(e.Tool)
		for n := 2; ; n++ {
			if _, taken := m[name]; !taken {
				break
			}
			suffix := "_" + strconv.Itoa(n)
			name = azureJobName(e.Tool)
			if len(name)+len(suffix) > 100 {
				name = name[:100-len(suffix)]
			}
			name += suffix
		}
		m[name] = e
	}
	return m
}

// azureJobName makes s a valid Azure matrix configuration name.
func azureJobName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	name := string(b)
	if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		name = "tool_" + name
	}
	if len(name) > 100 {
		name = name[:100]
	}
	return name
}

// Pairs returns the outputs in order as name, value pairs: released,
// changed, matrix, failed (JSON values) and report-json (a path or "").
func (o Outputs) Pairs() [][2]string {
	return [][2]string{
		{"released", mustJSON(o.Released)},
		{"changed", mustJSON(o.Changed)},
		{"matrix", mustJSON(o.Matrix)},
		{"failed", strconv.FormatBool(o.Failed)},
		{"report-json", o.ReportJSON},
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of strings: cannot fail
	}
	return string(b)
}

// WriteOutputs sets the outputs of r on p (see Outputs.Write), with no
// report-json path.
func WriteOutputs(p Platform, r *pipeline.Report) error { return OutputsOf(r).Write(p) }

// Write sets every output of Pairs on p, always, also the empty ones, so
// that a later step reads "" rather than an unset variable (Azure leaves
// $(step.name) of an unset output as that literal text). On Azure, whose
// variable names take letters, digits, '.' and '_', a '-' in a name
// becomes '_' (report-json is report_json there), and azure_matrix
// (AzureMatrix) is added, since Azure's matrix takes a map. Call it on
// failures too, so later steps can read failed=true.
func (o Outputs) Write(p Platform) error {
	pairs := o.Pairs()
	if p.Name() == "azure" {
		for i := range pairs {
			pairs[i][0] = strings.ReplaceAll(pairs[i][0], "-", "_")
		}
		pairs = append(pairs, [2]string{"azure_matrix", mustJSON(o.AzureMatrix())})
	}
	for _, kv := range pairs {
		if err := p.SetOutput(kv[0], kv[1]); err != nil {
			return fmt.Errorf("output %s: %w", kv[0], err)
		}
	}
	return nil
}

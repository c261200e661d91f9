package platform

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/google/go-cmp/cmp"
)

func TestOutputsOf(t *testing.T) {
	got := OutputsOf(sampleReport())
	want := Outputs{
		Released: []Released{{"weather_lookup", "us", "1.3.0"}, {"weather_lookup", "eu-central-1", "1.3.0"}},
		Changed:  []string{"weather_lookup", "geo_coder", "docs_only"},
		Matrix:   Matrix{Include: []MatrixEntry{{Tool: "weather_lookup", Path: "tools/weather_lookup"}, {Tool: "geo_coder", Path: "tools/geo_coder"}}},
		Failed:   true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OutputsOf (-want +got):\n%s", diff)
	}
}

func TestOutputsOf_empty(t *testing.T) {
	o := OutputsOf(&pipeline.Report{Mode: "plan"})
	want := [][2]string{{"released", "[]"}, {"changed", "[]"}, {"matrix", `{"include":[]}`}, {"failed", "false"}, {"report-json", ""}}
	if diff := cmp.Diff(want, o.Pairs()); diff != "" {
		t.Errorf("Pairs (-want +got):\n%s", diff)
	}
}

func TestLocal(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"GITHUB_ACTIONS": "", "TF_BUILD": "",
		"AMIGO_OUTPUT":  filepath.Join(dir, "out"),
		"AMIGO_SUMMARY": filepath.Join(dir, "summary.md"),
		"AMIGO_CONFIG":  "plan.yaml",
	}
	env := newStrictEnv(t, vars)
	var out lockedBuffer
	p := DetectCI(env.Getenv, WithWriter(&out), WithTokenSource(func() string { return "T" }))
	if p.Name() != "local" {
		t.Fatalf("Detect = %s, want local", p.Name())
	}
	p.Mask("s3cr3t-api-key")
	if p.Input("config") != "plan.yaml" {
		t.Errorf("Input(config) = %q", p.Input("config"))
	}
	p.Group("weather_lookup")
	p.Infof("key %s\n::set-output name=a::b", "s3cr3t-api-key")
	p.EndGroup()
	p.Warningf("careful")
	p.Annotate(Annotation{File: "plan.yaml", Line: 4, Message: "unknown stage"})
	if err := WriteOutputs(p, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if err := p.SetOutput("multi", "a\nb"); err != nil {
		t.Fatal(err)
	}
	if err := p.Summary("# hi"); err != nil {
		t.Fatal(err)
	}
	want := "▸ weather_lookup\n  key ***\n  \u200b::set-output name=a::b\nwarning: careful\nerror: plan.yaml:4: unknown stage\n"
	if got := out.String(); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	wantOut := `released=[{"tool":"weather_lookup","stage":"us","version":"1.3.0"},{"tool":"weather_lookup","stage":"eu-central-1","version":"1.3.0"}]` + "\n" +
		`changed=["weather_lookup","geo_coder","docs_only"]` + "\n" +
		`matrix={"include":[{"tool":"weather_lookup","project_path":"tools/weather_lookup"},{"tool":"geo_coder","project_path":"tools/geo_coder"}]}` + "\n" +
		"failed=true\nreport-json=\nmulti<<EOF_T\na\nb\nEOF_T\n"
	if diff := cmp.Diff(wantOut, readFile(t, vars["AMIGO_OUTPUT"])); diff != "" {
		t.Errorf("AMIGO_OUTPUT (-want +got):\n%s", diff)
	}
	if got := readFile(t, vars["AMIGO_SUMMARY"]); got != "# hi\n" {
		t.Errorf("AMIGO_SUMMARY = %q", got)
	}
	if ev, err := p.Trigger(); err != nil || ev.Kind != Manual {
		t.Errorf("Event = %+v, %v", ev, err)
	}
}

func TestLocal_noFiles(t *testing.T) {
	env := newStrictEnv(t, map[string]string{"AMIGO_OUTPUT": "", "AMIGO_SUMMARY": ""})
	p := NewLocal(env.Getenv, WithWriter(&lockedBuffer{}))
	if err := p.SetOutput("x", "y"); err != nil {
		t.Error(err)
	}
	if err := p.Summary("x"); err != nil {
		t.Error(err)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		gha, tf, want string
	}{
		{"true", "", "github"},
		{"", "True", "azure"},
		{"", "true", "azure"},
		{"", "", "local"},
		{"false", "False", "local"},
	} {
		env := newStrictEnv(t, map[string]string{"GITHUB_ACTIONS": tc.gha, "TF_BUILD": tc.tf})
		if got := DetectCI(env.Getenv, WithWriter(&strings.Builder{})).Name(); got != tc.want {
			t.Errorf("Detect(GITHUB_ACTIONS=%q, TF_BUILD=%q) = %s, want %s", tc.gha, tc.tf, got, tc.want)
		}
	}
}

// TestAzureMatrix_sameEntriesAsMatrix: azure_matrix holds exactly the
// entries of matrix, keyed by valid, distinct Azure job names, and no entry
// key would replace an environment variable the job needs.
func TestAzureMatrix_sameEntriesAsMatrix(t *testing.T) {
	r := sampleReport()
	r.Tools = append(r.Tools,
		pipeline.ToolReport{Name: "3d_render", Path: "tools/3d", Status: pipeline.StatusPlanned},
		pipeline.ToolReport{Name: "geo-coder", Path: "tools/geo-dash", Status: pipeline.StatusPlanned},
		pipeline.ToolReport{Name: "geo.coder", Path: "tools/geo-dot", Status: pipeline.StatusPlanned},
		pipeline.ToolReport{Name: strings.Repeat("x", 120), Path: "tools/long", Status: pipeline.StatusPlanned},
	)
	o := OutputsOf(r)
	az := o.AzureMatrix()
	if len(az) != len(o.Matrix.Include) {
		t.Fatalf("azure_matrix has %d jobs, matrix %d", len(az), len(o.Matrix.Include))
	}
	valid := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)
	var got []MatrixEntry
	for name, e := range az {
		if !valid.MatchString(name) {
			t.Errorf("azure_matrix job name %q is not a valid Azure matrix configuration name", name)
		}
		got = append(got, e)
	}
	want := append([]MatrixEntry{}, o.Matrix.Include...)
	sort.Slice(got, func(i, j int) bool { return got[i].Tool < got[j].Tool })
	sort.Slice(want, func(i, j int) bool { return want[i].Tool < want[j].Tool })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("azure_matrix entries differ from matrix.include (-matrix +azure):\n%s", diff)
	}
	if e, ok := az["weather_lookup"]; !ok || e.Tool != "weather_lookup" {
		t.Errorf("a valid tool name is not its own job name: %v", az)
	}
	if _, ok := az["tool_3d_render"]; !ok {
		t.Errorf("a tool name with a leading digit: %v", az)
	}
	// Azure exports matrix variables as upper-cased environment variables.
	for _, pair := range o.Pairs() {
		if pair[0] != "matrix" {
			continue
		}
		var m struct{ Include []map[string]string }
		if err := json.Unmarshal([]byte(pair[1]), &m); err != nil {
			t.Fatal(err)
		}
		for _, e := range m.Include {
			for k := range e {
				switch strings.ToUpper(k) {
				case "PATH", "HOME", "SHELL", "USER", "TEMP", "TMP", "TMPDIR", "PWD":
					t.Errorf("matrix entry key %q would replace $%s in Azure jobs", k, strings.ToUpper(k))
				}
			}
		}
	}
}

// A plan that scheduled a fan-out makes one matrix entry per lane: its
// tools and projects, comma-separated, and its slot (on Azure too).
// Without one the entries are one per tool, as before.
func TestOutputsOf_fanOutLanes(t *testing.T) {
	rep := sampleReport()
	rep.Tools = append(rep.Tools, pipeline.ToolReport{Name: "calendar", Path: "tools/calendar", Status: pipeline.StatusPlanned})
	lanes := map[string]int{"weather_lookup": 1, "geo_coder": 2, "calendar": 1}
	for i := range rep.Tools {
		if l := lanes[rep.Tools[i].Name]; l > 0 {
			rep.Tools[i].Lane = l
			rep.Tools[i].Slot = fmt.Sprintf("test=2026-06-01T12:0%d:00Z,entry=%d/2,every=2m2s,jobs=2", l, l-1)
		}
	}
	o := OutputsOf(rep)
	want := []MatrixEntry{
		{Tool: "weather_lookup,calendar", Path: "tools/weather_lookup,tools/calendar", Slot: "test=2026-06-01T12:01:00Z,entry=0/2,every=2m2s,jobs=2"},
		{Tool: "geo_coder", Path: "tools/geo_coder", Slot: "test=2026-06-01T12:02:00Z,entry=1/2,every=2m2s,jobs=2"},
	}
	if diff := cmp.Diff(want, o.Matrix.Include); diff != "" {
		t.Errorf("lanes (-want +got):\n%s", diff)
	}
	for name, e := range o.AzureMatrix() {
		if e.Slot == "" || !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`).MatchString(name) {
			t.Errorf("azure_matrix job %q: %+v, want a valid job name and the lane's slot", name, e)
		}
	}
	b, err := json.Marshal(OutputsOf(sampleReport()).Matrix)
	if err != nil || strings.Contains(string(b), "slot") {
		t.Errorf("a plan without a fan-out: matrix %s, want no slot", b)
	}
}

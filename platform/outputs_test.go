package platform

import (
	"path/filepath"
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
		Matrix:   Matrix{Include: []MatrixEntry{{"weather_lookup", "tools/weather_lookup"}, {"geo_coder", "tools/geo_coder"}}},
		Failed:   true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OutputsOf (-want +got):\n%s", diff)
	}
}

func TestOutputsOf_empty(t *testing.T) {
	o := OutputsOf(&pipeline.Report{Mode: "plan"})
	want := [][2]string{{"released", "[]"}, {"changed", "[]"}, {"matrix", `{"include":[]}`}, {"failed", "false"}}
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
	p := Detect(env.Getenv, WithWriter(&out), WithTokenSource(func() string { return "T" }))
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
		`matrix={"include":[{"tool":"weather_lookup","path":"tools/weather_lookup"},{"tool":"geo_coder","path":"tools/geo_coder"}]}` + "\n" +
		"failed=true\nmulti<<EOF_T\na\nb\nEOF_T\n"
	if diff := cmp.Diff(wantOut, readFile(t, vars["AMIGO_OUTPUT"])); diff != "" {
		t.Errorf("AMIGO_OUTPUT (-want +got):\n%s", diff)
	}
	if got := readFile(t, vars["AMIGO_SUMMARY"]); got != "# hi\n" {
		t.Errorf("AMIGO_SUMMARY = %q", got)
	}
	if ev, err := p.Event(); err != nil || ev.Kind != Manual {
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
		if got := Detect(env.Getenv, WithWriter(&strings.Builder{})).Name(); got != tc.want {
			t.Errorf("Detect(GITHUB_ACTIONS=%q, TF_BUILD=%q) = %s, want %s", tc.gha, tc.tf, got, tc.want)
		}
	}
}

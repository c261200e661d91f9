package promote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func strp(s string) *string { return &s }

func TestLoadProjectMeta(t *testing.T) {
	m, err := LoadProjectMeta("testdata/weather")
	if err != nil {
		t.Fatal(err)
	}
	want := ProjectMeta{
		Dir: "testdata/weather", File: filepath.Join("testdata/weather", "pyproject.toml"),
		Name: "weather-lookup", ProjectDescription: "Weather for a city (from [project]).",
		Description: "Weather for a city (from [tool.amigo-release]).",
		Tags:        map[string]*string{"team": strp("platform"), "owner": strp("ana"), "beta": nil},
		Envvars: []EnvvarSpec{
			{Name: "WEATHER_API_URL", Value: "https://staging.weather.example"},
			{Name: "WEATHER_TIMEOUT", Value: "5"},
		},
		TestInputs: []amigo.Input{
			{InputParameters: map[string]any{"city": "Lisbon", "days": int64(2), "detail": map[string]any{"hourly": true, "fields": []any{"temp", "wind"}}},
				InvocationMode: "regular", NonsensitiveUserVariables: map[string]string{}, SensitiveUserVariables: map[string]string{}},
			{InputParameters: map[string]any{"city": "Oslo"}, InvocationMode: "conversation-simulation",
				NonsensitiveUserVariables: map[string]string{"locale": "nb_NO"}, SensitiveUserVariables: map[string]string{}},
		},
		SkipStages:            []string{"ap"},
		RequiredEnvvars:       []string{"WEATHER_API_URL", "WEATHER_TIMEOUT"},
		RequiredSecretEnvvars: []string{"WEATHER_API_KEY"},
		InputSchema: map[string]any{"type": "object", "required": []any{"city"},
			"properties": map[string]any{"city": map[string]any{"type": "string"}}},
	}
	if diff := cmp.Diff(want, m, cmpopts.IgnoreUnexported(ProjectMeta{}, EnvvarSpec{})); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
}

// TestParseProjectMeta_bad: each problem names the file, the key and the
// line of that key (found in the text: the TOML library keeps no positions).
func TestParseProjectMeta_bad(t *testing.T) {
	tests := []struct {
		name, src, path, msg, fix string
		line                      int
	}{
		{"unknown key", "[tool.amigo-release]\ndescripton = \"x\"\n", "tool.amigo-release.descripton", `unknown key "descripton"`, `did you mean "description"?`, 2},
		{"wrong type", "[tool.amigo-release]\ndescription = 3\n", "tool.amigo-release.description", "expected a string, got the integer 3", "double quotes", 2},
		{"tags not a table", "[tool.amigo-release]\ntags = [\"a\"]\n", "tool.amigo-release.tags", "expected a table", `team = "weather"`, 2},
		{"bad envvar name", "[[tool.amigo-release.envvars]]\nname = \"api-key\"\nvalue = \"x\"\n", "tool.amigo-release.envvars[0].name", `invalid environment variable name "api-key"`, "upper-case", 2},
		{"envvar name not a string", "[[tool.amigo-release.envvars]]\nname = 3\nvalue = \"x\"\n", "tool.amigo-release.envvars[0].name", "expected a string, got the integer 3", "double quotes", 2},
		{"from_env holds a value", "[[tool.amigo-release.envvars]]\nname = \"KEY\"\nfrom_env = \"sk-live-1234\"\n", "tool.amigo-release.envvars[0].from_env", `"sk-live-1234" is not an environment variable name`, "never its value", 3},
		{"secret literal", "[[tool.amigo-release.envvars]]\nname = \"KEY\"\nvalue = \"x\"\nsecret = true\n", "tool.amigo-release.envvars[0].value", "has a literal value", `from_env = "KEY"`, 3},
		{"envvar neither", "[[tool.amigo-release.envvars]]\nname = \"KEY\"\n", "tool.amigo-release.envvars[0]", "neither value nor from_env", "from_env", 1},
		{"envvar unknown key", "[[tool.amigo-release.envvars]]\nname = \"KEY\"\nvalue = \"x\"\nsecert = true\n", "tool.amigo-release.envvars[0].secert", `unknown key "secert"`, `did you mean "secret"?`, 4},
		{"too many inputs", "[tool.amigo-release]\ntest_inputs = [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]\n", "tool.amigo-release.test_inputs", "11 test inputs", "between 1 and 10", 2},
		{"input date", "[[tool.amigo-release.test_inputs]]\ninput_parameters = { day = 2024-01-01 }\n", "tool.amigo-release.test_inputs[0].input_parameters.day", "cannot be sent as JSON", "quoted strings", 2},
		{"required envvars not a list", "[tool.amigo]\nrequired_envvars = \"A\"\n", "tool.amigo.required_envvars", "expected an array of strings", `["A", "B"]`, 2},
		{"syntax error has a line", "[project]\nname = \n", "", "not valid TOML", "TOML syntax", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProjectMeta("tools/x/pyproject.toml", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("not ErrInvalid: %v", err)
			}
			e := firstError(t, err)
			if e.File != "tools/x/pyproject.toml" || e.Path != tt.path || e.Line != tt.line {
				t.Errorf("at %s:%d %s, want line %d path %s\n%v", e.File, e.Line, e.Path, tt.line, tt.path, err)
			}
			if !strings.Contains(e.Msg, tt.msg) || !strings.Contains(e.Fix, tt.fix) {
				t.Errorf("got %q / %q, want %q / %q", e.Msg, e.Fix, tt.msg, tt.fix)
			}
		})
	}
}

func TestLoadProjectMeta_missing(t *testing.T) {
	_, err := LoadProjectMeta(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "pyproject.toml: file not found; fix: a tool project is a directory with a pyproject.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadProjectMeta_noTables(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\nname = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadProjectMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "x" || m.Tags != nil || m.Envvars != nil || m.TestInputs != nil || m.SkipStages != nil {
		t.Errorf("meta = %+v", m)
	}
}

func TestResolve_precedence(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	meta, err := LoadProjectMeta("testdata/weather")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WEATHER_API_KEY_PROD": "s3cr3t-value"}
	s, err := p.Resolve("weather_lookup", meta, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// description: plan > [tool.amigo-release] > [project]
	if s.Description != "Current weather and a three-day forecast for a city." {
		t.Errorf("description = %q", s.Description)
	}
	// tags merge per key, the plan wins
	wantTags := map[string]*string{"team": strp("weather"), "tier": strp("gold"), "beta": nil, "owner": strp("ana")}
	if diff := cmp.Diff(wantTags, s.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	// envvars merge per name, the plan wins; secrets from the environment
	wantEnv := []Envvar{
		{Name: "WEATHER_API_KEY", Value: "s3cr3t-value", Secret: true, Source: "testdata/release.yaml:81 (from $WEATHER_API_KEY_PROD)"},
		{Name: "WEATHER_API_URL", Value: "https://api.weather.example/v2", Source: "testdata/release.yaml:79"},
		{Name: "WEATHER_TIMEOUT", Value: "5", Source: filepath.Join("testdata/weather", "pyproject.toml") + " [tool.amigo-release]"},
	}
	if diff := cmp.Diff(wantEnv, s.Envvars); diff != "" {
		t.Errorf("envvars (-want +got):\n%s", diff)
	}
	// test inputs: the plan's whole list
	if len(s.TestInputs) != 2 || s.TestInputs[0].InputParameters["city"] != "Paris" {
		t.Errorf("test inputs = %+v", s.TestInputs)
	}
	// skip_stages: the plan sets none for this tool, so the pyproject's
	if diff := cmp.Diff([]string{"ap"}, s.SkipStages); diff != "" || !s.Skips("ap") || s.Skips("us") {
		t.Errorf("skip stages %v", s.SkipStages)
	}
	var names []string
	for _, st := range s.Stages {
		names = append(names, st.Name)
	}
	if diff := cmp.Diff([]string{"us", "eu", "ca"}, names); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s3cr3t-value"}, s.SecretValues()); diff != "" {
		t.Errorf("SecretValues: %s", diff)
	}
	if got := s.MissingEnvvars(nil); len(got) != 0 {
		t.Errorf("MissingEnvvars = %v", got)
	}
}

func TestResolve_defaults(t *testing.T) {
	p := mustParse(t, "p.yaml", []byte(okStages))
	s, err := p.Resolve("plain", ProjectMeta{File: "plain/pyproject.toml", ProjectDescription: "From project.",
		RequiredEnvvars: []string{"B", "A"}, RequiredSecretEnvvars: []string{"C"}}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := []amigo.Input{{InputParameters: map[string]any{}, InvocationMode: "regular", NonsensitiveUserVariables: map[string]string{}, SensitiveUserVariables: map[string]string{}}}
	if diff := cmp.Diff(want, s.TestInputs); diff != "" {
		t.Errorf("default test input (-want +got):\n%s", diff)
	}
	if s.Description != "From project." || len(s.Tags) != 0 || len(s.Envvars) != 0 || len(s.SkipStages) != 0 || len(s.Stages) != 1 {
		t.Errorf("settings = %+v", s)
	}
	if diff := cmp.Diff([]string{"C"}, s.MissingEnvvars([]string{"A", "B"})); diff != "" {
		t.Errorf("MissingEnvvars: %s", diff)
	}
	s, _ = p.Resolve("bare", ProjectMeta{}, func(string) string { return "" })
	if s.Description != "Amigo tool bare" {
		t.Errorf("fallback description %q", s.Description)
	}
}

func TestResolve_errors(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	meta := ProjectMeta{File: "tools/w/pyproject.toml", SkipStages: []string{"europe"},
		RequiredSecretEnvvars: []string{"PLAIN"}, Envvars: []EnvvarSpec{{Name: "PLAIN", Value: "literal"}}}
	_, err := p.Resolve("weather_lookup", meta, func(string) string { return "" })
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"testdata/release.yaml:81:9: tool weather_lookup envvar WEATHER_API_KEY: environment variable WEATHER_API_KEY_PROD is not set (or empty); fix: set WEATHER_API_KEY_PROD",
		"tools/w/pyproject.toml: tool weather_lookup envvar PLAIN: PLAIN is a required secret of the tool",
		`tools/w/pyproject.toml: tool.amigo-release.skip_stages[0]: unknown stage "europe"; fix: use one of the valid stage names of testdata/release.yaml: ap, ca, eu, us`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if _, err := p.Resolve("Bad-Name", ProjectMeta{}, nil); err == nil || !strings.Contains(err.Error(), `"bad_name"`) {
		t.Errorf("bad name: %v", err)
	}
}

func TestPlan_ToolName(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	tests := []struct{ path, name, want, errText string }{
		{"tools/weather", "anything", "weather_lookup", ""},
		{"tools/flights", "Flight-Status", "flight_status", ""},
		{"tools/x", "", "", "has no [project].name"},
		{"tools/y", "café", "", `discovery.names of testdata/release.yaml, e.g. "caf"`},
	}
	for _, tt := range tests {
		got, err := p.ToolName(tt.path, ProjectMeta{File: tt.path + "/pyproject.toml", Name: tt.name})
		if got != tt.want || (tt.errText == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.errText) {
			t.Errorf("ToolName(%q, %q) = %q, %v", tt.path, tt.name, got, err)
		}
	}
}

// TestParseProjectMeta_inputArrays: arrays of values and of tables in test
// input parameters become JSON arrays, and a bad item is named by its index.
func TestParseProjectMeta_inputArrays(t *testing.T) {
	src := `[[tool.amigo-release.test_inputs]]
input_parameters = { days = [1, 2], stops = [{ city = "Oslo" }, { city = "Bergen", nights = [3] }] }

[[tool.amigo-release.test_inputs.input_parameters.legs]]
from = "Oslo"

[[tool.amigo-release.test_inputs.input_parameters.legs]]
from = "Bergen"
`
	m, err := ParseProjectMeta("tools/x/pyproject.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"days":  []any{int64(1), int64(2)},
		"stops": []any{map[string]any{"city": "Oslo"}, map[string]any{"city": "Bergen", "nights": []any{int64(3)}}},
		"legs":  []any{map[string]any{"from": "Oslo"}, map[string]any{"from": "Bergen"}},
	}
	if len(m.TestInputs) != 1 {
		t.Fatalf("test inputs = %+v", m.TestInputs)
	}
	if diff := cmp.Diff(want, m.TestInputs[0].InputParameters); diff != "" {
		t.Errorf("input parameters (-want +got):\n%s", diff)
	}

	_, err = ParseProjectMeta("tools/x/pyproject.toml", []byte("[[tool.amigo-release.test_inputs]]\ninput_parameters = { stops = [{ city = \"Oslo\" }, { day = 2024-01-01 }] }\n"))
	if e := firstError(t, err); e.Path != "tool.amigo-release.test_inputs[0].input_parameters.stops[1].day" || !strings.Contains(e.Msg, "cannot be sent as JSON") {
		t.Errorf("error at %s: %s", e.Path, e.Msg)
	}
}

// TestTomlKeyLine: the line of a key path in the forms TOML allows for it.
func TestTomlKeyLine(t *testing.T) {
	src := `[project]
name = "weather-lookup"
description = """
[tool.amigo-release]
not = "a table: inside a string"
"""

[tool."amigo-release"]
tags = { team = "weather" }
skip_stages = [
  "eu",
  "ap",
]

[[tool.amigo-release.envvars]]
name = "A"
value = "1"

[[ tool.amigo-release.envvars ]]
name = "B"
from_env = "B_VAR"

[tool.amigo]
required_envvars = ["A"]
input_schema.type = "object"
`
	for _, tt := range []struct {
		path string
		want int
	}{
		{"project.name", 2},
		{"project.description", 3},
		{"tool.amigo-release.tags", 9},
		{"tool.amigo-release.tags.team", 9},
		{"tool.amigo-release.skip_stages[1]", 10},
		{"tool.amigo-release.envvars[0]", 15},
		{"tool.amigo-release.envvars[0].value", 17},
		{"tool.amigo-release.envvars[1].name", 20},
		{"tool.amigo-release.envvars[1].from_env", 21},
		{"tool.amigo-release.envvars[2].name", 8}, // no such element: its table
		{"tool.amigo.required_envvars", 24},
		{"tool.amigo.input_schema.type", 25},
		{"tool.amigo-release.not", 8}, // only in a string: the table
		{"nothing.here", 0},
		{"", 0},
	} {
		if got := tomlKeyLine([]byte(src), tt.path); got != tt.want {
			t.Errorf("tomlKeyLine(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}
